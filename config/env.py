"""The one place settings are read from the environment.

Every read sits beside its default. Secrets also accept ``NAME_FILE`` (a path whose contents are the
value), the Docker/Kubernetes secrets convention. A value that cannot be parsed stops start-up.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Read values from the *_FILE variant when it is set (environ's smart-cast keeps types).
env.smart_cast = True


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points to {file_path!r}: {exc}") from exc
    return str(env.str(name, default=default))
