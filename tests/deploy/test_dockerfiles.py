"""The images: hadolint on both Dockerfiles, the choices the issue asks for, and collectstatic
with the build settings (no database, no secrets). With a Docker engine, the images are built."""

import re

import pytest

from .helpers import ROOT, clean_env, run, tool

DJANGO = ROOT / "docker/production/django/Dockerfile"
NGINX = ROOT / "docker/production/nginx/Dockerfile"


@pytest.mark.parametrize("dockerfile", [DJANGO, NGINX], ids=["django", "nginx"])
def test_hadolint_is_clean(dockerfile):
    # Any finding, info level included, fails (hadolint's default failure threshold).
    run([tool("hadolint"), "--no-color", str(dockerfile)])


def test_django_image_shape():
    text = DJANGO.read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, flags=re.MULTILINE)
    assert len(stages) == 2, "multi-stage: wheels, then the runtime"
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    assert "uv export --frozen" in text  # wheels from uv.lock
    assert "--require-hashes" in text
    assert "--mount=type=bind,from=wheels" in text  # wheels never land in a runtime layer
    assert re.search(r"^USER 1000:1000$", text, flags=re.MULTILINE), "numeric non-root user"
    assert "useradd --system --uid 1000" in text
    assert "chown -R django:django /app/data" in text
    assert "DJANGO_SETTINGS_MODULE=config.settings.build python manage.py collectstatic" in text
    assert re.search(r"HEALTHCHECK .*\n.*/api/v1/health/live/", text)
    assert 'ENTRYPOINT ["tini", "--", "/app/docker/production/django/entrypoint.sh"]' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".envs", "var", "tests"):
        assert entry in ignored


def test_nginx_image_is_current_stable_alpine():
    text = NGINX.read_text()
    match = re.search(r"^FROM nginx:(\d+)\.(\d+)-alpine$", text, flags=re.MULTILINE)
    assert match, "nginx:<major>.<minor>-alpine"
    major, minor = int(match[1]), int(match[2])
    assert minor % 2 == 0, "even minor numbers are nginx's stable lines"
    assert (major, minor) >= (1, 30), "1.27 and 1.28 are end of life"
    assert "NGINX_ENVSUBST_OUTPUT_DIR=/etc/nginx/rendered" in text
    assert "COPY templates/ /etc/nginx/templates/" in text


def test_entrypoint_has_every_role():
    text = (ROOT / "docker/production/django/entrypoint.sh").read_text()
    roles = ("web", "worker", "beat", "migrate", "manage", "health-worker", "health-beat",
             "health-worker-file", "health-web")  # fmt: skip
    for role in roles:
        assert re.search(rf"^  {role}\)$", text, flags=re.MULTILINE), role
    assert "manage.py wait_for_db" in text
    assert "manage.py migrate_locked" in text
    assert 'inspect ping \\\n      --destination "celery@${HOSTNAME' in text


def test_collectstatic_runs_with_build_settings_and_no_database(tmp_path):
    """What the Dockerfile's build step runs: no DATABASE_URL, no SECRET_KEY, no network."""
    env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.build", STATIC_ROOT=str(tmp_path))
    run([str(tool("python")), "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env)
    manifest = tmp_path / "staticfiles.json"
    assert manifest.exists(), "ManifestStaticFilesStorage wrote its manifest"
    hashed = list(tmp_path.rglob("*.[0-9a-f]*.css"))
    assert hashed, "hashed copies exist for Nginx's immutable location"
