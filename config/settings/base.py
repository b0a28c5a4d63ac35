"""Settings shared by every environment. Each value comes from the environment (config.env)."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import (
    BASE_DIR,
    env,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_rate,
    env_secret,
)
from kore.core.redis_connection import FailFastConnection

# --- Core -----------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_secret("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
KORE_VERSION = env.str("KORE_VERSION", default="0.1.0")
KORE_DATA_DIR = Path(env.str("KORE_DATA_DIR", default=str(BASE_DIR / "var")))

TIME_ZONE = env.str("KORE_TIME_ZONE", default="UTC")
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves static files under runserver too (before staticfiles claims /static/).
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "kore.core",
    "kore.orgs",
    "kore.ops",
    "kore.ledger",
    "kore.reports",
    "kore.fx",
    "kore.imports",
    "kore.exports",
    "kore.payees",
    "kore.notifications",
    "kore.backups",
    "kore.webhooks",
    "kore.planning",
    "kore.suggestions",
    "kore.demo",
    "django_htmx",
    "kore.web",
    # Two-factor sign-in for the web app: allauth.mfa's TOTP authenticators (kore.web's own views).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
]

# Session, authentication and messages are Django's, skipped for an API client's request
# (kore.core.bearer). CSRF stays Django's own (check --deploy looks for it by name; DRF's views
# are exempt), allauth refuses to start without its own path here, and simple-history's binding
# names the person in the audit trail: those run for every request.
MIDDLEWARE = [
    "kore.core.middleware.RequestIdMiddleware",
    "kore.core.middleware.DatabaseUnavailableMiddleware",
    "kore.ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kore.core.middleware.CorsMiddleware",  # django-cors-headers', Origin read from META
    "kore.core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "kore.core.middleware.AuthenticationMiddleware",
    "kore.core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kore.core.csp.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]
# The audit trail is never edited: the admin's history pages are view-only (no "Revert").
SIMPLE_HISTORY_REVERT_DISABLED = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kore" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Subclasses decide the default; here the URL is only parsed when present.
DATABASE_URL = env.str("DATABASE_URL", default="")
CONN_MAX_AGE = env_int("CONN_MAX_AGE", default=60, min_value=0)


def database_from_url(url: str) -> dict[str, Any]:
    """Parse DATABASE_URL into Django's dict, with psycopg 3 and persistent connections."""
    db: dict[str, Any] = env.db_url_config(url) if url else {}
    if not db.get("ENGINE"):
        raise ImproperlyConfigured(
            f"DATABASE_URL {url!r} names no database Kore knows: use postgres://user@host:port/"
            "name, or sqlite:////absolute/path (leave it unset for the embedded SQLite file)."
        )
    if db["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that asks the server only when it spoke while
        # the connection was idle (kore.core.postgresql).
        db["ENGINE"] = "kore.core.postgresql"
        db["CONN_MAX_AGE"] = CONN_MAX_AGE
        db["CONN_HEALTH_CHECKS"] = True
        db.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", default=5, min_value=1)
        )
        # The hot API queries are prepared on each connection (kore.core.prepared): off behind a
        # PgBouncer older than 1.21 or with max_prepared_statements = 0, which cannot route them.
        # Other queries keep Django's client-side binding, so the threshold only reaches those.
        if env_bool("DATABASE_PREPARED_STATEMENTS", default=True):
            db["OPTIONS"]["prepare_threshold"] = 5
        # Behind PgBouncer in transaction mode a server-side cursor cannot outlive its statement.
        db["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
    db["ATOMIC_REQUESTS"] = False
    return db


# --- Cache and sessions ---------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")


def cache_from_url(url: str) -> dict[str, dict[str, object]]:
    """Redis cache that degrades on an outage (errors ignored and logged), or local memory."""
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # The timeouts do not bound the name lookup (a stopped Compose service has no DNS entry):
    # after a failed connect, fail at once for a few seconds. Plain TCP only: rediss:// and
    # unix:// keep the connection class their scheme needs (TLS, a socket file).
    pool: dict[str, object] = (
        {"connection_class": FailFastConnection} if url.startswith("redis://") else {}
    )
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kore"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                "CONNECTION_POOL_KWARGS": pool,
            },
        }
    }


CACHES = cache_from_url(REDIS_URL)
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "kore.cache"
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery (config/celery_app.py) ------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker: tasks run in-process when they are sent (the embedded runtime has a file broker).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", default=4, min_value=1)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int(
    "CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000, min_value=1
)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=300, min_value=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=600, min_value=1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True  # what matters lives in PostgreSQL rows
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"kore.imports.tasks.*": {"queue": "imports"}}
# Every queue a route names: a worker started without -Q consumes them all (Compose's, the native
# stack's and systemd's workers take no -Q; without this none of them ever ran an import).
# A dedicated worker still picks its own with -Q.
CELERY_TASK_QUEUES = [Queue("celery"), Queue("imports")]
# Redis re-delivers an unacknowledged task after this; it must outlast the hard time limit.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT * 2
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "kore.ops.beat:SingleBeatScheduler"
KORE_BEAT_LOCK_DATABASE_URL = env.str("KORE_BEAT_LOCK_DATABASE_URL", default="")
# Backups and restores straight to PostgreSQL when DATABASE_URL goes through PgBouncer.
KORE_BACKUP_DATABASE_URL = env.str("KORE_BACKUP_DATABASE_URL", default="")
CELERY_TIMEZONE = env.str("KORE_TIME_ZONE", default="UTC")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Security -------------------------------------------------------------------------------
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# The web app (kore.web): a strict policy, no inline script or style anywhere (htmx is a static
# file configured by a <meta> tag). Swagger UI renders an inline script, so its page is left out.
FORM_ACTION = ["'self'"]
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": FORM_ACTION,
        "frame-ancestors": ["'none'"],
    },
}
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
# allauth (used for its TOTP authenticators): people sign in with their email, no usernames.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# Two-factor sign-in: a TOTP app, and ten single-use recovery codes made when it is turned on.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Kore"
# Encrypts the TOTP secrets and recovery-code seeds at rest (kore.orgs.mfa).
MFA_ADAPTER = "kore.orgs.mfa.MFAAdapter"


def mfa_keys(value: str) -> list[str]:
    """``KORE_MFA_KEYS``: Fernet keys, comma-separated, newest first. A bad key stops start-up."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"KORE_MFA_KEYS: key {number} is not a Fernet key (32 url-safe base64 bytes: "
                "python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')."
            ) from exc
    return keys


# Rotate: put a new key first, run `manage.py kore_mfa_rekey`, then drop the old keys.
# Unset: one key derived from SECRET_KEY.
KORE_MFA_KEYS = mfa_keys(env_secret("KORE_MFA_KEYS", default=""))
# Kore's own sign-in page and code step run the login; allauth only links outside accounts.
ACCOUNT_ADAPTER = "kore.web.signin.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"

# "Sign in with Google" (allauth's OpenID Connect provider), on only when both are set. Google's
# issuer by default; GOOGLE_OIDC_URL points it elsewhere (a test stand-in, or Google Workspace
# behind a proxy). A Google account signs in as the Kore user with that verified email, or
# becomes a new user with no organisation (as /auth/register/ would). Redirect URI to register
# with Google: https://<host>/accounts/oidc/google/login/callback/
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env_secret("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_OIDC_URL = env.str("GOOGLE_OIDC_URL", default="https://accounts.google.com")


def google_sign_in(client_id: str, secret: str, server_url: str) -> dict[str, Any]:
    """allauth's provider settings: one OpenID Connect app named Google, or none."""
    apps = []
    if client_id and secret:
        apps.append(
            {
                "provider_id": "google",
                "name": "Google",
                "client_id": client_id,
                "secret": secret,
                "settings": {"server_url": server_url, "scope": ["openid", "email", "profile"]},
            }
        )
    return {"openid_connect": {"APPS": apps, "OAUTH_PKCE_ENABLED": True}}


SOCIALACCOUNT_PROVIDERS = google_sign_in(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_OIDC_URL)
SOCIALACCOUNT_ADAPTER = "kore.web.signin.SocialAccountAdapter"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a verified Google email signs in its Kore user
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    # The sign-in form posts to Kore, which redirects to the provider: form-action must allow it.
    FORM_ACTION.append("/".join(GOOGLE_OIDC_URL.split("/", 3)[:3]))
CSRF_FAILURE_VIEW = "kore.core.exceptions.csrf_failure"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# A JSON body larger than this is refused with 413 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024, min_value=1
)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
KORE_JSON_MAX_DEPTH = env_int("KORE_JSON_MAX_DEPTH", default=32, min_value=1)

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(KORE_DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, pre-compressed names served by WhiteNoise (and Nginx in front of it).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploaded files on the local disk (MEDIA_ROOT) or in an S3-compatible bucket (django-storages).
MEDIA_STORAGE = env_choice("MEDIA_STORAGE", default="filesystem", choices=("filesystem", "s3"))
# Attachment downloads from S3: redirect to a presigned URL living this long, or (off) stream.
KORE_MEDIA_S3_REDIRECT = env_bool("KORE_MEDIA_S3_REDIRECT", default=True)
KORE_MEDIA_S3_URL_SECONDS = env_int("KORE_MEDIA_S3_URL_SECONDS", default=60, min_value=1)
if MEDIA_STORAGE == "s3":
    _media_s3: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("KORE_MEDIA_S3_BUCKET", default=""),
            "location": env.str("KORE_MEDIA_S3_PREFIX", default=""),
            "endpoint_url": env.str("KORE_MEDIA_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("KORE_MEDIA_S3_REGION", default="us-east-1"),
            "access_key": env.str("KORE_MEDIA_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env_secret("KORE_MEDIA_S3_SECRET_ACCESS_KEY", default="") or None,
            # Private objects, reachable only through presigned URLs Kore hands out.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": KORE_MEDIA_S3_URL_SECONDS,
            "file_overwrite": False,
        },
    }
    STORAGES["default"] = _media_s3

# --- Product switches -----------------------------------------------------------------------
KORE_OPEN_SIGNUP = env_bool("KORE_OPEN_SIGNUP", default=False)
KORE_INVITATION_TTL_HOURS = env_int("KORE_INVITATION_TTL_HOURS", default=72, min_value=1)
KORE_PUBLIC_URL = env.str("KORE_PUBLIC_URL", default="http://127.0.0.1:8000")
KORE_DEMO_EMAIL = env.str("KORE_DEMO_EMAIL", default="demo@kore.local")
KORE_DEMO_PASSWORD = env_secret("KORE_DEMO_PASSWORD", default="")
# Ledger attachments: the largest upload accepted, and whether downloads are handed to Nginx
# (X-Accel-Redirect to an `internal` /media/ location) instead of streamed by Django.
KORE_ATTACHMENT_MAX_BYTES = env_int(
    "KORE_ATTACHMENT_MAX_BYTES", default=50 * 1024 * 1024, min_value=1
)
# Bank-statement imports: their own upload limit; a running job silent this long is re-queued.
KORE_IMPORT_MAX_BYTES = env_int("KORE_IMPORT_MAX_BYTES", default=500 * 1024 * 1024, min_value=1)
KORE_IMPORT_STALE_SECONDS = env_int("KORE_IMPORT_STALE_SECONDS", default=600, min_value=1)
KORE_IMPORT_TIME_LIMIT = env_int("KORE_IMPORT_TIME_LIMIT", default=3600, min_value=1)
# Exchange-rate files (kore.fx): the ECB's whole history since 1999 is about 1.5 MB.
KORE_FX_FILE_MAX_BYTES = env_int("KORE_FX_FILE_MAX_BYTES", default=10 * 1024 * 1024, min_value=1)
# A file in the ECB reference-rate CSV layout fetched daily into every organisation (kore.fx
# .providers); empty (the default): Kore fetches nothing and works with no network.
KORE_FX_PROVIDER_URL = env.str("KORE_FX_PROVIDER_URL", default="")
# A finished dry run keeps its file this long, to be run for real without a new upload.
KORE_IMPORT_DRY_RUN_KEEP_HOURS = env_int("KORE_IMPORT_DRY_RUN_KEEP_HOURS", default=24, min_value=1)
# Transaction exports: XLSX up to this many rows in the request, above it a worker job.
KORE_EXPORT_SYNC_LIMIT = env_int("KORE_EXPORT_SYNC_LIMIT", default=100_000, min_value=0)
KORE_EXPORT_TIME_LIMIT = env_int("KORE_EXPORT_TIME_LIMIT", default=3600, min_value=1)
KORE_EXPORT_STALE_SECONDS = env_int("KORE_EXPORT_STALE_SECONDS", default=900, min_value=1)
KORE_ACCEL_REDIRECT = env_bool("KORE_ACCEL_REDIRECT", default=False)
# Webhooks (kore.webhooks): HTTPS only and public addresses only, except in the embedded runtime.
KORE_WEBHOOK_REQUIRE_HTTPS = env_bool("KORE_WEBHOOK_REQUIRE_HTTPS", default=True)
KORE_WEBHOOK_ALLOW_PRIVATE = env_bool("KORE_WEBHOOK_ALLOW_PRIVATE", default=False)
KORE_WEBHOOK_TIMEOUT_SECONDS = env_int("KORE_WEBHOOK_TIMEOUT_SECONDS", default=10, min_value=1)
KORE_WEBHOOK_RETRY_HOURS = env_int("KORE_WEBHOOK_RETRY_HOURS", default=72, min_value=1)
KORE_WEBHOOK_DISABLE_AFTER_HOURS = env_int(
    "KORE_WEBHOOK_DISABLE_AFTER_HOURS", default=72, min_value=1
)


# --- Category suggestions (kore.suggestions) ------------------------------------------------
# The most recent categorised rows a model learns from, per organisation.
KORE_SUGGESTIONS_TRAIN_ROWS = env_int("KORE_SUGGESTIONS_TRAIN_ROWS", default=100_000, min_value=1)
# An import creating at least this many rows retrains its organisation's model when it ends.
KORE_SUGGESTIONS_RETRAIN_AFTER_ROWS = env_int(
    "KORE_SUGGESTIONS_RETRAIN_AFTER_ROWS", default=500, min_value=1
)
# Trained models each web or worker process keeps loaded (least recently used dropped first;
# about 5 MB for 30,000 categorised rows).
KORE_SUGGESTIONS_MODELS_KEPT = env_int("KORE_SUGGESTIONS_MODELS_KEPT", default=8, min_value=1)

# --- Backups (kore.backups) -----------------------------------------------------------------
# Where `manage.py backup` writes <environment>_<UTC timestamp>/ directories, and what they are
# called after (SENTRY_ENVIRONMENT names the same thing elsewhere).
KORE_BACKUP_DIR = Path(env.str("KORE_BACKUP_DIR", default=str(KORE_DATA_DIR / "backups")))
KORE_BACKUP_ENVIRONMENT = env.str(
    "KORE_BACKUP_ENVIRONMENT", default=env.str("SENTRY_ENVIRONMENT", default="production")
)
# Retention: the newest N good backups and every backup younger than D days stay. Local disk
# keeps only the latest 3 (a small host's disk); off-site copies are kept 30 days at least.
KORE_BACKUP_KEEP_LAST = env_int("KORE_BACKUP_KEEP_LAST", default=3, min_value=0)
KORE_BACKUP_KEEP_DAYS = env_int("KORE_BACKUP_KEEP_DAYS", default=0, min_value=0)
KORE_BACKUP_REMOTE_KEEP_DAYS = env_int("KORE_BACKUP_REMOTE_KEEP_DAYS", default=30, min_value=0)
KORE_BACKUP_TIME_LIMIT = env_int("KORE_BACKUP_TIME_LIMIT", default=4 * 3600, min_value=1)
# Command words put in front of pg_dump's / pg_restore's arguments, e.g. to run the server's own
# client in Compose: "docker compose -f production.yml exec -T -e PGPASSWORD postgres pg_dump".
# When set, the command runs beside the server: only the user and database name are passed.
KORE_PG_DUMP = env.str("KORE_PG_DUMP", default="")
KORE_PG_RESTORE = env.str("KORE_PG_RESTORE", default="")
# Off-site copies (S3-compatible), encrypted with age before upload; off when no bucket is set.
KORE_BACKUP_S3_BUCKET = env.str("KORE_BACKUP_S3_BUCKET", default="")
KORE_BACKUP_S3_PREFIX = env.str("KORE_BACKUP_S3_PREFIX", default="kore-backups/")
KORE_BACKUP_S3_ENDPOINT_URL = env.str("KORE_BACKUP_S3_ENDPOINT_URL", default="")
KORE_BACKUP_S3_REGION = env.str("KORE_BACKUP_S3_REGION", default="us-east-1")
KORE_BACKUP_S3_ACCESS_KEY_ID = env.str("KORE_BACKUP_S3_ACCESS_KEY_ID", default="")
KORE_BACKUP_S3_SECRET_ACCESS_KEY = env_secret("KORE_BACKUP_S3_SECRET_ACCESS_KEY", default="")
# age public keys (age1…, comma-separated) the copies are encrypted to; the matching identity
# (AGE-SECRET-KEY-1…) is needed only to fetch a copy back, so keep it off the server if you can.
KORE_BACKUP_AGE_RECIPIENTS: list[str] = env.list("KORE_BACKUP_AGE_RECIPIENTS", default=[])
KORE_BACKUP_AGE_IDENTITY = env_secret("KORE_BACKUP_AGE_IDENTITY", default="")

# --- Email (kore.notifications) -------------------------------------------------------------
# Either one URL: smtp://user:pw@host:25, smtp+tls://…:587, smtp+ssl://…:465 or consolemail://
# (printed); it holds the SMTP password, so it may also come from EMAIL_URL_FILE. Or Django's own
# variables, as deployment guides write them: EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD (or _FILE), EMAIL_USE_TLS / EMAIL_USE_SSL. Neither: printed to the log.
EMAIL_VARIABLES = (
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
)


def email_from_variables() -> dict[str, Any]:
    """Django's mail settings from EMAIL_HOST and its siblings (SMTP)."""
    use_tls = env_bool("EMAIL_USE_TLS", default=False)
    use_ssl = env_bool("EMAIL_USE_SSL", default=False)
    if use_tls and use_ssl:
        raise ImproperlyConfigured(
            "EMAIL_USE_TLS and EMAIL_USE_SSL are both on: STARTTLS (587) or TLS (465), not both."
        )
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": env.str("EMAIL_HOST"),
        "EMAIL_PORT": env_int("EMAIL_PORT", default=0, min_value=1, max_value=65535) or None,
        "EMAIL_HOST_USER": env.str("EMAIL_HOST_USER", default=""),
        "EMAIL_HOST_PASSWORD": env_secret("EMAIL_HOST_PASSWORD", default=""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }


def _email_normalised(config: dict[str, Any]) -> dict[str, Any]:
    tls, ssl = bool(config.get("EMAIL_USE_TLS")), bool(config.get("EMAIL_USE_SSL"))
    return {
        "EMAIL_BACKEND": str(config["EMAIL_BACKEND"]),
        "EMAIL_HOST": str(config.get("EMAIL_HOST") or "localhost"),
        "EMAIL_PORT": int(config.get("EMAIL_PORT") or (465 if ssl else 587 if tls else 25)),
        "EMAIL_HOST_USER": str(config.get("EMAIL_HOST_USER") or ""),
        "EMAIL_HOST_PASSWORD": str(config.get("EMAIL_HOST_PASSWORD") or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
    }


def email_settings(url: str) -> dict[str, Any]:
    """One mail configuration from EMAIL_URL or the EMAIL_HOST variables. Both set and
    disagreeing, or the variables without EMAIL_HOST, stop start-up instead of one being ignored."""
    given = [
        n for n in EMAIL_VARIABLES if os.environ.get(n, "").strip() or os.environ.get(f"{n}_FILE")
    ]
    from_url = _email_normalised(env.email_url_config(url or "consolemail://"))
    if not given:
        return from_url
    if "EMAIL_HOST" not in given:
        raise ImproperlyConfigured(
            f"{', '.join(given)} set without EMAIL_HOST: set EMAIL_HOST too."
        )
    from_variables = _email_normalised(email_from_variables())
    disagree = [n for n in given if from_variables[n] != from_url[n]]
    if url and disagree:
        raise ImproperlyConfigured(
            f"Outgoing mail is ambiguous: EMAIL_URL and {', '.join(disagree)} are both set and "
            "disagree. Set EMAIL_URL or the EMAIL_HOST variables, not both."
        )
    return from_variables


EMAIL_URL = env_secret("EMAIL_URL", default="")
_email = email_settings(EMAIL_URL)
EMAIL_BACKEND = str(_email["EMAIL_BACKEND"])
EMAIL_HOST = str(_email["EMAIL_HOST"])
EMAIL_PORT = int(_email["EMAIL_PORT"])
EMAIL_HOST_USER = str(_email["EMAIL_HOST_USER"])
EMAIL_HOST_PASSWORD = str(_email["EMAIL_HOST_PASSWORD"])
EMAIL_USE_TLS = bool(_email["EMAIL_USE_TLS"])
EMAIL_USE_SSL = bool(_email["EMAIL_USE_SSL"])


def from_email() -> str:
    """KORE_FROM_EMAIL or Django's DEFAULT_FROM_EMAIL; both set and different stops start-up."""
    kore = env.str("KORE_FROM_EMAIL", default="").strip()
    django = env.str("DEFAULT_FROM_EMAIL", default="").strip()
    if kore and django and kore != django:
        raise ImproperlyConfigured(
            "The sender is ambiguous: KORE_FROM_EMAIL and DEFAULT_FROM_EMAIL are both set and "
            "differ. Set one of them."
        )
    return kore or django or "Kore <no-reply@kore.local>"


DEFAULT_FROM_EMAIL = from_email()
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=10, min_value=1)

# --- REST framework, JWT, API docs ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kore.orgs.authentication.ApiTokenAuthentication",
        "kore.orgs.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["kore.core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "kore.core.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's negotiation, its choice remembered per Accept header (kore.core.negotiation).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "kore.core.negotiation.RememberingContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": [
        "kore.core.throttling.UserRateThrottle",
        "kore.core.throttling.ApiTokenRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("KORE_THROTTLE_USER", default="5000/hour"),
        "api_token": env_rate("KORE_THROTTLE_API_TOKEN", default="10000/hour"),
        "login_ip": env_rate("KORE_THROTTLE_LOGIN_IP", default="10/min"),
        "login_email": env_rate("KORE_THROTTLE_LOGIN_EMAIL", default="10/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "kore.core.schema.KoreAutoSchema",
    "EXCEPTION_HANDLER": "kore.core.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # How many proxies (Nginx) stand in front: 0 trusts only REMOTE_ADDR for rate limits.
    "NUM_PROXIES": env_int("KORE_NUM_PROXIES", default=0, min_value=0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env_int("JWT_ACCESS_MINUTES", default=60, min_value=1)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", default=1, min_value=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env_secret("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# The schema and the docs pages for anyone (on), or for signed-in callers only, 404 to others
# (off; production's default). kore.core.schema.ApiDocsAccess.
KORE_API_DOCS_PUBLIC = env_bool("KORE_API_DOCS_PUBLIC", default=True)
SPECTACULAR_SETTINGS = {
    "TITLE": "Kore API",
    "DESCRIPTION": "Transaction tracking for organisations. Errors share one shape; see `Error`.",
    "VERSION": KORE_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["kore.core.schema.ApiDocsAccess"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "kore.orgs.models.Role",
        "AccountKindEnum": "kore.ledger.models.Account.Kind",
        "CategoryKindEnum": "kore.ledger.models.Category.Kind",
        "TransactionStatusEnum": "kore.ledger.models.Transaction.Status",
        "StatementStatusEnum": "kore.ledger.models.Statement.Status",
        "ImportStatusEnum": "kore.imports.models.ImportJob.Status",
        "ImportModeEnum": "kore.imports.models.ImportJob.Mode",
        "ImportFormatEnum": "kore.imports.models.ImportJob.Format",
        "AuditActionEnum": "kore.ledger.selectors.audit.ACTIONS",
        "AuditObjectTypeEnum": "kore.ledger.selectors.audit.OBJECT_TYPES",
        "WebhookDeliveryStatusEnum": "kore.webhooks.models.WebhookDelivery.Status",
        "WebhookEventTypeEnum": "kore.webhooks.events.EVENT_TYPES",
        "ScheduleModeEnum": "kore.planning.models.Schedule.Mode",
        "ScheduleRuleEnum": "kore.planning.models.Schedule.Rule",
        "BudgetPeriodEnum": "kore.planning.models.Budget.Period",
        "BudgetRolloverEnum": "kore.planning.models.Budget.Rollover",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kore.core.schema.add_error_components",
    ],
}

# --- Logging --------------------------------------------------------------------------------
DJANGO_LOG_LEVEL = env_choice(
    "DJANGO_LOG_LEVEL", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
)
KORE_LOG_FORMAT = env_choice("KORE_LOG_FORMAT", default="text", choices=("text", "json"))
# One console handler. json: one object per line (time, level, logger, message, request_id,
# user_id/org/task where known, extra fields); text: for a terminal. Both redact secrets
# (kore.ops.logs). The "recent" filter keeps warnings for the status page (kore.ops.recorder).
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "kore.ops.logs.ContextFilter"},
        "recent": {"()": "kore.ops.recorder.RecentProblemsFilter"},
    },
    "formatters": {
        "text": {"()": "kore.ops.logs.TextFormatter"},
        "json": {"()": "kore.ops.logs.JsonLineFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context", "recent"],
            "formatter": KORE_LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": DJANGO_LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
    },
}

# --- Operations (kore.ops) ------------------------------------------------------------------
# Bearer token for /ops/metrics (Prometheus); empty: the endpoint answers 404.
KORE_METRICS_TOKEN = env_secret("KORE_METRICS_TOKEN", default="")
# Where scripts/deploy.sh records each deploy (JSON lines) for the status page.
KORE_DEPLOY_LOG = Path(env.str("KORE_DEPLOY_LOG", default=str(KORE_DATA_DIR / "deploys.jsonl")))
# How often each process writes its request counts and warnings for the status page (0: never).
KORE_OPS_FLUSH_SECONDS = env_int("KORE_OPS_FLUSH_SECONDS", default=10, min_value=0)

# --- Error reporting ------------------------------------------------------------------------
SENTRY_DSN = env_secret("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env_float(
    "SENTRY_TRACES_SAMPLE_RATE", default=0.0, min_value=0.0, max_value=1.0
)
if SENTRY_DSN:
    from kore.ops.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=KORE_VERSION,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
