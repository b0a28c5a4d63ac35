"""The embedded runtime's settings: DATABASE_URL empty means the SQLite file; nonsense is refused.

Each case runs ``manage.py`` in a fresh process with a throwaway KORE_DATA_DIR.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRINT_ENGINE = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"


def _shell(tmp_path: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "KORE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_ENGINE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_an_empty_database_url_is_the_embedded_sqlite_file(tmp_path):
    result = _shell(tmp_path, "")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "django.db.backends.sqlite3"


def test_a_database_url_naming_no_database_is_refused_with_a_clear_message(tmp_path):
    result = _shell(tmp_path, "not-a-url")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL 'not-a-url' names no database Kore knows" in result.stderr
