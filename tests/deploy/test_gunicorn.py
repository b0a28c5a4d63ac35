"""`gunicorn --check-config` on config/gunicorn.conf.py with the production settings."""

import secrets

from .helpers import ROOT, clean_env, run, tool

CONF = ROOT / "config/gunicorn.conf.py"


def test_gunicorn_check_config():
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="kore.example.com",
        DATABASE_URL="postgres://kore:kore@127.0.0.1:1/kore",  # never connected to
        GUNICORN_BIND="127.0.0.1:0",
    )
    run(
        [tool("gunicorn"), "--check-config", "-c", str(CONF), "config.wsgi:application"],
        env=env,
    )
