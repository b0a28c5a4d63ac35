"""Production settings: refuse to start when anything that keeps Kore safe is missing."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_bool, env_choice, env_int

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DATABASE_URL, DEBUG, SECRET_KEY, database_from_url

PLACEHOLDER_SECRETS = ("", "change-me", "changeme", "django-insecure", "replace-me", "secret")


def _refuse(reason: str) -> None:
    raise ImproperlyConfigured(f"Kore refuses to start in production: {reason}")


if DEBUG:
    _refuse("DEBUG is on. Unset DEBUG or set DEBUG=False.")
if (
    any(SECRET_KEY.lower().startswith(p) for p in PLACEHOLDER_SECRETS if p)
    or len(SECRET_KEY.strip()) < 50
    or len(set(SECRET_KEY)) < 5  # e.g. 64 spaces or "aaaa…": Django's own entropy floor
):
    _refuse(
        "SECRET_KEY is missing, a placeholder, shorter than 50 characters or too simple. "
        "Generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
    )
if not ALLOWED_HOSTS:
    _refuse("ALLOWED_HOSTS is empty. List the host names Kore is served under.")
if not DATABASE_URL:
    _refuse("DATABASE_URL is not set. Point it at PostgreSQL, e.g. postgres://user:pw@db/kore.")
if KORE_WEBHOOK_ALLOW_PRIVATE or not KORE_WEBHOOK_REQUIRE_HTTPS:  # noqa: F405
    # A webhook URL is typed by an organisation's admin: in production it must not reach the
    # host's own network (metadata services, databases) nor travel in clear.
    _refuse(
        "KORE_WEBHOOK_ALLOW_PRIVATE must be false and KORE_WEBHOOK_REQUIRE_HTTPS true "
        "(the embedded runtime, config.settings.local, relaxes both for local receivers)."
    )

DATABASES = {"default": database_from_url(DATABASE_URL)}

# Health probes reach Gunicorn directly, not through Nginx, and name it by address: Docker's
# HEALTHCHECK and Compose's healthcheck send Host 127.0.0.1:8000 (ECS: localhost). Refused,
# they marked every web container unhealthy, so Nginx never started. Nginx never forwards these
# hosts (its catch-all server drops any name it does not serve).
ALLOWED_HOSTS = [
    *ALLOWED_HOSTS,
    *env.list("KORE_PROBE_HOSTS", default=["127.0.0.1", "localhost", "[::1]"]),
]

# Nginx terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
# Probes from the orchestrator speak plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000, min_value=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is an opt-in, hard-to-undo commitment for the whole domain: off unless asked for,
# so `check --deploy` must not fail on it (security.W021).
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", default=False)
# The API's schema and docs need a signed-in caller unless turned public.
KORE_API_DOCS_PUBLIC = env_bool("KORE_API_DOCS_PUBLIC", default=False)
KORE_LOG_FORMAT = env_choice("KORE_LOG_FORMAT", default="json", choices=("json", "text"))
LOGGING["handlers"]["console"]["formatter"] = KORE_LOG_FORMAT  # noqa: F405
