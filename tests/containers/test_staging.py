"""Staging beside production on one host, as document 003 lays it out (production.lowmem.yml):
one Compose project, one PostgreSQL (a database each) behind PgBouncer, one Redis, an Nginx each;
`make deploy ENV=production` from nothing, then `make deploy ENV=staging` rolls only staging's
services. The memory limits here are raised: this checks where things run, not the 512 MB budget
(the low-memory profile's own tests measure that)."""

import json
from collections.abc import Iterator

import pytest
import requests

from .stack import HOST_NAME, PROJECT, TAG, Stack, free_port
from .test_deploy import deploy

pytestmark = pytest.mark.containers
STAGING_NAME = "staging.localhost"
REPORT: dict[str, str] = {}


@pytest.fixture(scope="module")
def host(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    one = Stack(env=stack.env | {"COMPOSE_PROFILES": "pgbouncer"},
                dir=tmp_path_factory.mktemp("host"), project=f"{PROJECT}-host",
                standins=stack.standins)  # fmt: skip
    one.write_config()
    staging_port = free_port()
    text = one.env_path.read_text()
    one.env_path.write_text(text + f"NGINX_STAGING_PORT=127.0.0.1:{staging_port}\n"
                            f"NGINX_STAGING_SERVER_NAME={STAGING_NAME}\n")  # fmt: skip
    staging_env = one.dir / "staging.env"
    staging_text = text.replace(f"ALLOWED_HOSTS={HOST_NAME}", f"ALLOWED_HOSTS={STAGING_NAME}")
    staging_env.write_text(staging_text.replace(f"http://{HOST_NAME}", f"http://{STAGING_NAME}"))
    override = json.loads((one.dir / "override.yml").read_text())
    roomy = {"deploy": {"resources": {"limits": {"memory": "384m"}}}}
    for name in ("migrate", "django", "celeryworker", "postgres", "pgbouncer", "nginx"):
        override["services"].setdefault(name, {}).update(roomy)
    for name in ("migrate-staging", "django-staging", "celeryworker-staging", "nginx-staging"):
        override["services"][name] = {"env_file": [str(staging_env)], **roomy}
    (one.dir / "override.yml").write_text(json.dumps(override, indent=2))
    one.compose_files = ["production.yml", "production.lowmem.yml", str(one.dir / "override.yml")]
    one.down()
    yield one
    from .conftest import REPORT as SESSION

    SESSION["staging beside production (production.lowmem.yml)"] = [
        f"{name}: {line}" for name, line in REPORT.items()
    ]
    one.timed("down", one.down)


def services(one: Stack) -> list[str]:
    return sorted(one.compose("ps", "--services", "--status", "running").split())


def test_staging_deploys_inside_productions_project_beside_it(host: Stack) -> None:
    done, seconds = deploy(host, TAG)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "celerybeat" not in services(host)  # beat runs inside the worker here
    production_web = host.compose("ps", "--quiet", "django").split()
    staged, staging_seconds = deploy(host, TAG, "staging")
    assert staged.returncode == 0, staged.stdout[-6000:] + staged.stderr[-3000:]
    # The staging worker is a profile of its own (not started in 512 MB): expected when active.
    expected = ["postgres", "pgbouncer", "redis", "django", "celeryworker", "nginx",
                "django-staging", "nginx-staging"]  # fmt: skip
    if "celeryworker-staging" in host.compose("config", "--services").split():
        expected.append("celeryworker-staging")
    assert services(host) == sorted(expected)
    # Production was not touched by staging's deploy; nothing made a second project.
    assert host.compose("ps", "--quiet", "django").split() == production_web
    projects = host.docker("ps", "--format", '{{.Label "com.docker.compose.project"}}').split()
    assert f"{host.project}-staging" not in projects
    assert "kore-staging" not in projects
    # Each answers through its own Nginx, on its own database.
    assert host.get("/api/v1/health/").json()["status"] == "ok"
    staging_port = host.env_path.read_text().split("NGINX_STAGING_PORT=127.0.0.1:")[1].split()[0]
    staging = requests.get(f"http://127.0.0.1:{staging_port}/api/v1/health/",
                           headers={"Host": STAGING_NAME}, timeout=15)  # fmt: skip
    assert staging.status_code == 200, staging.text
    assert staging.json()["status"] == "ok"
    names = host.compose(
        "exec", "-T", "django-staging", "python", "manage.py", "shell", "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['NAME'])",
    ).split()  # fmt: skip
    assert names[-1] == "kore_staging"
    REPORT["deploys"] = (
        f"production from nothing {seconds:.0f} s, then staging beside it {staging_seconds:.0f} s;"
        " one PostgreSQL, one Redis, one PgBouncer"
    )
