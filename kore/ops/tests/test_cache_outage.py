"""A Redis outage makes Kore slower, never unavailable: sign-in, API and sessions keep working."""

import socket
import subprocess

import pytest
import redis
from django.core.cache import cache
from rest_framework.test import APIClient

from config.settings.base import cache_from_url
from kore.core.testing import client_for, wait_until
from kore.orgs.tests.factories import PASSWORD


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_down(settings):
    """The production cache configuration, pointed at a port where nothing listens."""
    settings.CACHES = cache_from_url(f"redis://127.0.0.1:{_closed_port()}/0")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    # The cache really is unreachable: the raw client fails, django-redis swallows it.
    with pytest.raises(Exception, match="(?i)connect"):
        cache.client.get_client(write=True).ping()
    assert cache.get("anything") is None


def test_login_works_without_redis(world, redis_down):
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": world.owner.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    access = response.json()["access"]

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    orgs = client.get("/api/v1/orgs/")
    assert orgs.status_code == 200, orgs.content
    assert [o["slug"] for o in orgs.json()["results"]] == [world.org.slug]


def test_wrong_password_still_401_without_redis(world, redis_down):
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"email": world.owner.email, "password": "nope-nope-1"},
        format="json",
    )
    assert response.status_code == 401


def test_jwt_api_works_without_redis(world, redis_down):
    response = client_for(world.viewer).get("/api/v1/orgs/")
    assert response.status_code == 200, response.content


def test_session_login_and_api_work_without_redis(world, redis_down):
    client = APIClient()
    login = client.post(
        "/sign-in/",
        {"username": world.member.email, "password": PASSWORD, "next": "/api/v1/me/"},
        format="multipart",
    )
    assert login.status_code == 302, login.content[:500]
    assert "sessionid" in client.cookies

    me = client.get("/api/v1/me/")
    assert me.status_code == 200, me.content
    assert me.json()["email"] == world.member.email

    orgs = client.get("/api/v1/orgs/")
    assert orgs.status_code == 200, orgs.content


def test_session_created_before_outage_survives_it(world, settings):
    client = APIClient()
    assert client.login(username=world.admin.email, password=PASSWORD)
    assert client.get("/api/v1/me/").status_code == 200

    settings.CACHES = cache_from_url(f"redis://127.0.0.1:{_closed_port()}/0")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200, me.content
    assert me.json()["email"] == world.admin.email


def test_health_reports_the_outage_as_degraded(db, redis_down):
    body = APIClient().get("/api/v1/health/").json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "error"


def test_tls_and_socket_file_urls_keep_their_connection(settings, tmp_path):
    """Only plain TCP gets the fail-fast connection: rediss:// stays TLS, unix:// a socket file
    (a real server on a socket file answers through the cache)."""
    tls = cache_from_url("rediss://cache.example:6380/0")["default"]
    pool = redis.ConnectionPool.from_url(
        tls["LOCATION"], **tls["OPTIONS"]["CONNECTION_POOL_KWARGS"]
    )
    assert pool.connection_class is redis.SSLConnection

    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(sock.exists, timeout=10, what="the Redis socket file")
        settings.CACHES = cache_from_url(f"unix://{sock}?db=0")
        cache.set("kept", "yes", 30)
        assert cache.get("kept") == "yes"
    finally:
        server.terminate()
        server.wait(10)
