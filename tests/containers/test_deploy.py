"""`make deploy` against a Compose stack of its own in the test engine: the first deploy from
nothing, a backup of the session stack restored into it (row counts compared), a deploy with a
migration and a deploy whose new image never gets healthy, each under a bounded request loop
through Nginx. The images come from the session (KORE_PULL=local: this engine has no registry)."""

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .load import Loop, ledger, make_backup, make_vars, signed_in
from .stack import PROJECT, ROOT, TAG, Stack, run

pytestmark = pytest.mark.containers
REPORT: dict[str, str] = {}
MIGRATION = "0099_deploy_probe"


def images(stack: Stack, tag: str, dockerfile: str, files: dict[str, str]) -> None:
    """kore-django:<tag> from the session's image plus ``files``; kore-nginx:<tag> the same."""
    context = stack.dir / f"image-{tag}"
    context.mkdir()
    for name, text in files.items():
        (context / name).write_text(text)
    # The host's network: this engine has no default bridge for RUN steps.
    run(["docker", "build", "--network", "host", "-t", f"kore-django:{tag}", "-f", "-",
         str(context)],
        env=stack.env, input_text=dockerfile, timeout=600)  # fmt: skip
    stack.docker("tag", f"kore-nginx:{TAG}", f"kore-nginx:{tag}")


def deploy(
    stack: Stack, tag: str, env_name: str = "production", **extra: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`make deploy ENV=<env_name>` of images already in the engine, with the stack's files."""
    files = stack.compose_files or ["production.yml", str(stack.dir / "override.yml")]
    env = stack.env | {
        "KORE_COMPOSE_PROJECT": stack.project,
        "KORE_COMPOSE_FILES": " ".join(files),
        "KORE_ENV_FILE": str(stack.env_path),
        "KORE_TAG": tag,
        "KORE_PULL": "local",
        "KORE_DEPLOY_LOG_DIR": str(stack.dir / "logs"),
        "KORE_DEPLOY_STATE_DIR": str(stack.dir / "state"),
        "KORE_UPSTREAM_SETTLE": "13",
    }
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "deploy", f"ENV={env_name}"],
        cwd=ROOT, env=env | extra, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    return done, time.monotonic() - started


def web_images(stack: Stack) -> list[str]:
    ids = stack.compose("ps", "--quiet", "django").split()
    return [stack.docker("inspect", "--format", "{{.Config.Image}}", i).strip() for i in ids]


@pytest.fixture(scope="module")
def fresh(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An empty project: nothing runs in it until the first deploy."""
    other = Stack(env=stack.env, dir=tmp_path_factory.mktemp("fresh"), project=f"{PROJECT}-fresh")
    other.write_config()
    other.down()
    yield other
    from .conftest import REPORT as SESSION

    SESSION["deploys (make deploy, bounded request loops through Nginx)"] = [
        f"{name}: {line}" for name, line in REPORT.items()
    ]
    other.timed("down", other.down)


def test_first_deploy_starts_everything_from_nothing(fresh: Stack) -> None:
    assert not fresh.compose("ps", "--all", "--quiet").split()
    done, seconds = deploy(fresh, TAG)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert f"deploy: production now runs {TAG}" in done.stdout
    running = set(fresh.compose("ps", "--services", "--status", "running").split())
    assert running == {"postgres", "redis", "redis-cache", "django", "celeryworker",
                       "celerybeat", "nginx"}, running  # fmt: skip
    health = fresh.get("/api/v1/health/").json()
    assert health["status"] == "ok", health
    REPORT["first deploy from nothing"] = f"{seconds:.0f} s, healthy through Nginx"


def test_backup_of_one_stack_restores_into_another_with_the_same_rows(
    stack: Stack, fresh: Stack
) -> None:
    auth = signed_in(stack, f"restore-{secrets.token_hex(3)}@kore.test")
    slug, account = ledger(stack, auth, f"Restore {secrets.token_hex(3)}")
    for n in range(25):
        made = stack.request("POST", f"/api/v1/orgs/{slug}/transactions/", headers=auth,
                             json={"account": account, "occurred_on": "2026-02-01",
                                   "amount": f"{n}.25"})  # fmt: skip
        assert made.status_code == 201, made.text
    backup = make_backup(stack)
    source = stack.compose("ps", "--quiet", "django").split()[0]
    target = fresh.compose("ps", "--quiet", "django").split()[0]
    copy = fresh.dir / "copy"
    copy.mkdir()
    stack.docker("cp", f"{source}:{backup}", str(copy))
    fresh.docker("exec", target, "mkdir", "-p", "-m", "0700", "/app/data/backups")
    fresh.docker("cp", str(copy / Path(backup).name), f"{target}:/app/data/backups/")
    # docker cp writes as root (and makes backups/ if missing): give both back to the image's
    # user, owner-only, as a backup made there would be.
    owner = "chown -R 1000:1000 /app/data/backups && chmod 0700 /app/data/backups"
    fresh.docker("exec", "--user", "0", target, "sh", "-c", owner)
    done = run(["make", "--no-print-directory", "db-restore", f"BACKUP_PATH={backup}",
                "ARGS=--yes", *make_vars(fresh)], env=fresh.env, timeout=600)  # fmt: skip
    assert "in the Compose stack's web container" in done.stdout
    manifest = counts_in_manifest(fresh, backup)
    restored = counts_now(fresh)
    assert restored == manifest, (restored, manifest)
    assert manifest["ledger_transaction"][0] >= 25
    assert manifest["orgs_user"][0] >= 1
    REPORT["restore into a fresh stack"] = (
        ", ".join(f"{table} {count}" for table, (count, _) in sorted(manifest.items()) if count)
        + " rows: the same counts and checksums in the manifest and the restored database"
    )


def counts_in_manifest(stack: Stack, backup: str) -> dict[str, list[Any]]:
    out = stack.shell(
        "import json\nfrom pathlib import Path\nfrom kore.backups.manifest import manifest_read\n"
        f"print(json.dumps(manifest_read(Path({backup!r})).tables))\n"
    )
    return dict(json.loads(out.strip().splitlines()[-1]))


def counts_now(stack: Stack) -> dict[str, list[Any]]:
    out = stack.shell(
        "import json\nfrom kore.backups import pg\n"
        "with pg.connect() as conn:\n"
        "    print(json.dumps(pg.table_checksums(conn, pg.checked_tables())))\n"
    )
    return dict(json.loads(out.strip().splitlines()[-1]))


def probe_migration() -> str:
    latest = sorted(p.stem for p in (ROOT / "kore/ops/migrations").glob("0*.py"))[-1]
    return (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('ops', {latest!r})]\n"
        "    operations = [migrations.RunSQL(\n"
        "        'CREATE TABLE ops_deploy_probe (id bigint PRIMARY KEY)',\n"
        "        'DROP TABLE ops_deploy_probe')]\n"
    )


@pytest.fixture(scope="module")
def reads(fresh: Stack) -> tuple[list[str], dict[str, str]]:
    """What the request loops GET during the deploys, as a signed-in user."""
    auth = signed_in(fresh, f"deploy-{secrets.token_hex(3)}@kore.test")
    slug, _ = ledger(fresh, auth, "Deploys")
    return ["/api/v1/health/", f"/api/v1/orgs/{slug}/transactions/", "/api/v1/me/"], auth


def test_deploy_with_a_migration_rolls_without_a_failed_request(
    fresh: Stack, reads: tuple[list[str], dict[str, str]]
) -> None:
    traffic = Loop(fresh, reads[0], headers=reads[1], workers=2, limit=600)
    tag = f"{TAG}-m1"
    images(fresh, tag, f"FROM kore-django:{TAG}\n"
           f"COPY {MIGRATION}.py /app/kore/ops/migrations/{MIGRATION}.py\n",
           {f"{MIGRATION}.py": probe_migration()})  # fmt: skip
    with traffic:
        done, seconds = deploy(fresh, tag)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert traffic.sent > 30, traffic.summary()
    assert traffic.failed == 0, f"{traffic.summary()}: {traffic.failures}"
    assert set(web_images(fresh)) == {f"kore-django:{tag}"}
    assert "ops_deploy_probe" in fresh.shell(
        "from django.db import connection\nprint(connection.introspection.table_names())"
    )
    assert "deploy: stopping old replica" in done.stdout  # rolled, not recreated
    REPORT["deploy with a migration"] = f"{traffic.summary()} (the deploy took {seconds:.0f} s)"


def test_deploy_whose_image_never_gets_healthy_rolls_back_without_a_failed_request(
    fresh: Stack, reads: tuple[list[str], dict[str, str]]
) -> None:
    traffic = Loop(fresh, reads[0], headers=reads[1], workers=2, limit=600)
    previous, broken = f"{TAG}-m1", f"{TAG}-broken"
    # Migrations run (the schema is fine); the web application fails at import.
    images(fresh, broken, f"FROM kore-django:{previous}\nUSER root\n"
           "RUN echo 'raise RuntimeError(\"this release does not start\")' >> /app/config/wsgi.py\n"
           "USER 1000:1000\n", {})  # fmt: skip
    with traffic:
        done, seconds = deploy(fresh, broken, KORE_HEALTH_TRIES="10")
    assert done.returncode != 0, done.stdout[-6000:]
    assert f"deploy: rolled back to {previous}" in done.stdout, done.stdout[-6000:]
    assert traffic.sent > 30, traffic.summary()
    assert traffic.failed == 0, f"{traffic.summary()}: {traffic.failures}"
    assert set(web_images(fresh)) == {f"kore-django:{previous}"}
    assert (fresh.dir / "state/production.tag").read_text().strip() == previous
    assert fresh.get("/api/v1/health/").json()["status"] == "ok"
    REPORT["deploy with an image that never gets healthy"] = (
        f"rolled back to the previous image; {traffic.summary()} (the deploy and its rollback "
        f"took {seconds:.0f} s)"
    )
