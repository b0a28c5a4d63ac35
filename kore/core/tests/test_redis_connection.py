"""The cache's fail-fast Redis connection, against a real Redis server."""

import os
from urllib.parse import urlsplit

import pytest
from redis import ConnectionPool, Redis

from kore.core import redis_connection
from kore.core.redis_connection import FailFastConnection


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every name lookup a connect makes (the real one still runs)."""
    seen: list[tuple[str, int]] = []
    real = redis_connection._resolves

    def counted(host: str, port: int) -> bool:
        seen.append((host, port))
        return real(host, port)

    monkeypatch.setattr(redis_connection, "_resolves", counted)
    return seen


def test_a_pooled_connection_looks_its_server_up_once(lookups: list[tuple[str, int]]) -> None:
    # The pool hands the same connection out for every command and calls connect() each time:
    # a connection that is already open must not look the name up (a thread each) again.
    parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"))
    pool = ConnectionPool(
        connection_class=FailFastConnection,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        db=int(parts.path.strip("/") or 0),
    )
    client = Redis(connection_pool=pool)
    try:
        for _ in range(5):
            assert client.ping()
        pipe = client.pipeline(transaction=False)
        pipe.incr("kore-test-lookups").expire("kore-test-lookups", 5)
        pipe.execute()
    finally:
        pool.disconnect()
    assert lookups == [(parts.hostname or "127.0.0.1", parts.port or 6379)]
    # A connection that was closed connects (and looks up) again.
    client.ping()
    pool.disconnect()
    assert len(lookups) == 2
