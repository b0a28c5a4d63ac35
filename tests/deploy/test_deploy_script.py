"""scripts/deploy.sh's sequence against a stand-in docker CLI (tests/deploy/fakes): backup, build,
migrate, the web replicas replaced one at a time only once the new ones are healthy, then the
worker; on failure the previous tag comes back, the last log lines are printed, the result recorded.
(Without a Docker engine at all: test_operator_targets.py.)"""

import os
import subprocess
from pathlib import Path

from .helpers import ROOT

FAKES = Path(__file__).parent / "fakes"


def _deploy(
    tmp_path: Path, env_name: str = "staging", *, running: bool = True, **env: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    state = tmp_path / "docker"
    state.mkdir(exist_ok=True)
    web = state / "web"
    deploy_state = tmp_path / "deploy-state"
    deploy_state.mkdir(exist_ok=True)
    if running and not web.exists():
        web.write_text("c101 old\nc102 old\n")  # two replicas of the running version
        (state / "nginx").write_text("n1\n")
        (deploy_state / f"{env_name}.tag").write_text("old\n")
    env_file = tmp_path / "env"
    env_file.write_text("SECRET_KEY=x\n")
    result = subprocess.run(
        [str(ROOT / "scripts/deploy.sh"), env_name],
        cwd=ROOT,
        env=os.environ
        | {
            "PATH": f"{FAKES}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "FAKE_DOCKER_STATE": str(state),
            "KORE_TAG": "new",
            "KORE_ENV_FILE": str(env_file),
            "KORE_DEPLOY_LOG_DIR": str(tmp_path / "logs"),
            "KORE_DEPLOY_STATE_DIR": str(deploy_state),
            "KORE_HEALTH_TRIES": "2",
            "KORE_HEALTH_INTERVAL": "0",
            "KORE_UPSTREAM_SETTLE": "0",
        }
        | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, state  # the script sends its stderr to stdout too (and to its log file)


def _calls(state: Path) -> list[str]:
    return (state / "calls.log").read_text().splitlines()


def _index(calls: list[str], needle: str, start: int = 0) -> int:
    return next(i for i, call in enumerate(calls) if i >= start and needle in call)


def _web(state: Path) -> list[tuple[str, str]]:
    return [tuple(line.split()) for line in (state / "web").read_text().splitlines()]  # type: ignore[misc]


def test_deploy_replaces_replicas_one_at_a_time_after_backup_build_and_migrate(tmp_path):
    result, state = _deploy(tmp_path)
    assert result.returncode == 0, result.stdout
    calls = _calls(state)
    backup = _index(calls, "exec -T django python manage.py backup")
    assert all("--project-name kore-staging" in c for c in calls if "docker compose" in c)
    build = _index(calls, "build django nginx [KORE_TAG=new]")
    migrate = _index(calls, "run --rm migrate [KORE_TAG=new]")
    scale_up = _index(calls, "--scale django=4 django [KORE_TAG=new]")
    checks = [i for i, c in enumerate(calls) if c.startswith("docker exec c")]
    stops = [i for i, c in enumerate(calls) if c.startswith("docker stop")]
    worker = _index(calls, "up -d --no-deps celeryworker celerybeat [KORE_TAG=new]")
    nginx = _index(calls, "curl ")
    assert not any(" nginx [KORE_TAG" in c and " up " in c for c in calls)  # same image: left alone
    assert backup < build < migrate < scale_up < min(checks)
    assert max(checks) < min(stops)  # old replicas go only once every new one is healthy
    assert [calls[i].split()[-2] for i in stops] == ["c101", "c102"]  # one at a time
    assert max(stops) < worker < nginx
    assert _web(state) == [("c1", "new"), ("c2", "new")]
    assert (tmp_path / "deploy-state/staging.tag").read_text().strip() == "new"
    assert (state / "records").read_text().split() == ["staging", "new", "ok", "--previous", "old"]
    assert '"result":"ok"' in (tmp_path / "deploy-state/deploys.jsonl").read_text()
    assert "deploy: staging now runs new" in result.stdout
    assert list((tmp_path / "logs").glob("deploy_staging_*.log"))


def test_unhealthy_new_replicas_roll_back_to_the_previous_tag(tmp_path):
    result, state = _deploy(tmp_path, FAKE_UNHEALTHY_TAGS="new")
    assert result.returncode == 1
    assert "deploy: FAILED; rolling back to old" in result.stdout
    assert "--- last 100 log lines ---" in result.stdout
    assert "a log line from the replica" in result.stdout
    # The previous version's replicas never stopped serving; the broken ones are gone.
    assert _web(state) == [("c101", "old"), ("c102", "old")]
    assert not any(c.startswith("docker stop") and "c10" in c for c in _calls(state))
    assert (tmp_path / "deploy-state/staging.tag").read_text().strip() == "old"
    assert (state / "records").read_text().split()[2] == "rolled_back"


def test_failed_migration_rolls_back_before_touching_the_replicas(tmp_path):
    result, state = _deploy(tmp_path, FAKE_MIGRATE_RC="1")
    assert result.returncode == 1
    calls = _calls(state)
    assert not any("[KORE_TAG=new]" in c and "--scale" in c for c in calls)
    assert {tag for _, tag in _web(state)} == {"old"}
    assert (state / "records").read_text().split()[2] == "rolled_back"


def test_unhealthy_through_nginx_rolls_back(tmp_path):
    """The old replicas are gone by then: the previous version is rolled out again."""
    result, state = _deploy(tmp_path, FAKE_CURL_RC="7")
    assert result.returncode == 1
    assert "not healthy after 2 tries" in result.stdout
    assert any("--scale django=" in c and "[KORE_TAG=old]" in c for c in _calls(state))
    web = _web(state)
    assert len(web) == 2
    assert {tag for _, tag in web} == {"old"}


def _curl_call(state: Path) -> str:
    return next(c for c in _calls(state) if c.startswith("curl "))


def test_health_goes_through_nginx_by_the_host_name_it_serves(tmp_path):
    """Host 127.0.0.1 is Nginx's catch-all (444): every deploy used to roll back."""
    env_file = tmp_path / "deploy.env"
    env_file.write_text(
        'NGINX_SERVER_NAME="kore.example.com www.kore.example.com"\n'
        "NGINX_MODE=http\nNGINX_PUBLISH_HTTP=127.0.0.1:8080\n"
    )
    result, state = _deploy(tmp_path, KORE_ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stdout
    curl = _curl_call(state)
    assert "--resolve kore.example.com:8080:127.0.0.1" in curl
    assert curl.endswith(" http://kore.example.com:8080/api/v1/health/")


def test_health_in_https_mode_uses_the_published_tls_port(tmp_path):
    env_file = tmp_path / "deploy.env"
    env_file.write_text("NGINX_SERVER_NAME=kore.example.com\nNGINX_MODE=https\n")
    result, state = _deploy(tmp_path, KORE_ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stdout
    curl = _curl_call(state)
    assert "--resolve kore.example.com:443:127.0.0.1" in curl
    assert curl.endswith(" https://kore.example.com:443/api/v1/health/")


def test_health_url_can_still_be_given(tmp_path):
    result, state = _deploy(tmp_path, KORE_HEALTH_URL="http://kore.internal/api/v1/health/")
    assert result.returncode == 0, result.stdout
    assert _curl_call(state).endswith(" http://kore.internal/api/v1/health/")


def test_first_deploy_starts_the_databases_and_nginx(tmp_path):
    """From nothing: PostgreSQL and both Redis up (healthy) before migrate; Nginx after the web."""
    result, state = _deploy(tmp_path, "production", running=False)
    assert result.returncode == 0, result.stdout
    calls = _calls(state)
    assert not any("manage.py backup" in c for c in calls)  # nothing running, nothing to lose
    infra = _index(calls, "up -d --no-recreate --wait postgres redis redis-cache")
    migrate = _index(calls, "run --rm migrate [KORE_TAG=new]")
    web = _index(calls, "--scale django=1 django [KORE_TAG=new]")
    nginx = _index(calls, "up -d --no-deps nginx [KORE_TAG=new]")
    assert infra < migrate < web < nginx < _index(calls, "curl ")
    assert "deploy: production now runs new" in result.stdout


def test_first_deploy_that_fails_says_there_is_nothing_to_roll_back_to(tmp_path):
    result, _ = _deploy(tmp_path, "production", running=False, FAKE_UNHEALTHY_TAGS="new")
    assert result.returncode == 1
    assert "a first deploy has nothing to roll back to" in result.stdout


LOWMEM = {
    "KORE_COMPOSE_FILES": "production.yml production.lowmem.yml",
    "FAKE_SERVICES": "postgres pgbouncer redis migrate django celeryworker nginx "
    "migrate-staging django-staging celeryworker-staging nginx-staging",
}


def test_lowmem_production_starts_no_separate_beat(tmp_path):
    """The 512 MB profile runs beat inside the worker: naming celerybeat would start a second."""
    result, state = _deploy(tmp_path, "production", **LOWMEM)
    assert result.returncode == 0, result.stdout
    calls = _calls(state)
    assert not any("celerybeat" in c for c in calls)
    assert any(c.endswith("up -d --no-deps celeryworker [KORE_TAG=new]") for c in calls)
    assert any("--wait postgres pgbouncer redis [" in c for c in calls)


def test_staging_beside_production_rolls_its_own_services_in_production_project(tmp_path):
    """Document 003: one project, one PostgreSQL and Redis; staging's tag is its own."""
    result, state = _deploy(tmp_path, "staging", **LOWMEM)
    assert result.returncode == 0, result.stdout
    calls = [c for c in _calls(state) if "docker compose" in c]
    assert all("--project-name kore " in c for c in calls)
    assert not any("kore-staging" in c for c in calls)
    assert _index(calls, "exec -T django-staging python manage.py backup") >= 0
    assert _index(calls, "run --rm migrate-staging [KORE_TAG=new] [KORE_STAGING_TAG=new]") >= 0
    assert _index(calls, "--scale django-staging=4 django-staging") >= 0
    assert _index(calls, "up -d --no-deps celeryworker-staging") >= 0
    # Production's services are never named, so never touched.
    rolled = [c for c in calls if " up " in c or " run " in c]
    assert not [c for c in rolled if c.split()[-2] in ("django", "celeryworker", "nginx")]
    curl = _curl_call(state)
    assert "--resolve staging.localhost:8080:127.0.0.1" in curl


def test_staging_as_a_second_stack_beside_production_is_refused(tmp_path):
    """Without the staging services, staging would be a second PostgreSQL and Nginx on :80."""
    result, state = _deploy(tmp_path, "staging", FAKE_PS="abc123")
    assert result.returncode == 2
    assert "production (kore) runs on this host" in result.stdout
    assert not any(" up " in c or " run " in c for c in _calls(state))


def test_make_db_backup_runs_in_the_compose_stack_that_is_running(tmp_path):
    """The host cannot reach postgres:5432 on the stack's network: the web container can."""
    state = tmp_path / "docker"
    state.mkdir()
    (state / "web").write_text("c101 old\n")
    result = subprocess.run(
        ["make", "--no-print-directory", "db-backup", "COMPOSE_PROJECT=kore-x",
         "COMPOSE_FILES=production.yml production.lowmem.yml"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env=os.environ | {"PATH": f"{FAKES}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                          "FAKE_DOCKER_STATE": str(state), "FAKE_PS": "c101"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "db-backup: in the Compose stack's web container" in result.stdout
    [exec_call] = [c for c in _calls(state) if " exec " in c]
    assert "--project-name kore-x " in exec_call
    assert "-f production.yml -f production.lowmem.yml" in exec_call
    assert "exec -T django python manage.py backup" in exec_call
