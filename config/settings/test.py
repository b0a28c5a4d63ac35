"""Test settings: the real PostgreSQL and Redis (URLs from the environment, local defaults)."""

from pathlib import Path

from config.env import env, env_bool

from .base import *  # noqa: F403
from .base import cache_from_url, database_from_url

DEBUG = False
SECRET_KEY = "test-only-key-0f9e8d7c6b5a49382716f5e4d3c2b1a0ffeeddccbbaa99887766"  # noqa: S105
SIMPLE_JWT["SIGNING_KEY"] = SECRET_KEY  # noqa: F405
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

DATABASE_URL = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/postgres")
DATABASES = {"default": database_from_url(DATABASE_URL)}
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/1")
CACHES = cache_from_url(REDIS_URL)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/2")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default="/tmp/kore-test-media"))  # noqa: S108
# The status page's recorder writes only when a test asks (kore.ops.recorder.flush).
KORE_OPS_FLUSH_SECONDS = 0
# One time step either side: a test turns two-factor sign-in on with one step's code and signs in
# with the next step's, without waiting 30 s (each code is still accepted once only).
MFA_TOTP_TOLERANCE = 1
