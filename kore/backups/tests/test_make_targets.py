"""make db-backup, db-backup-staging, db-restore: the env file is read, the right command runs."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from kore.backups.manifest import manifest_read

from .conftest import Ledger

ROOT = Path(__file__).resolve().parents[3]


def test_env_file_wrapper_runs_a_backup_of_the_named_environment(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = connection.settings_dict
    env_file = tmp_path / ".env.staging"
    env_file.write_text(
        "DJANGO_SETTINGS_MODULE=config.settings.test\n"
        f"DATABASE_URL=postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}\n"
        f"KORE_BACKUP_DIR={tmp_path / 'out'}\n"
        'KORE_FROM_EMAIL="Kore <no-reply@kore.example.com>"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KORE_BACKUP_DIR")}
    env["KORE_BACKUP_ENVIRONMENT"] = "staging"  # the caller's value wins over the file's
    done = subprocess.run(
        ["scripts/with-env-file.sh", str(env_file), sys.executable, "manage.py", "backup"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [made] = (tmp_path / "out").iterdir()
    assert made.name.startswith("staging_")
    assert manifest_read(made).tables["ledger_transaction"][0] == 5


def test_make_targets_pass_the_staging_environment_and_the_path() -> None:
    staging = subprocess.run(
        ["make", "-n", "db-backup-staging", "STAGING_DATABASE_URL=postgres://x@db/kore_staging"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert (
        "scripts/with-env-file.sh .envs/.env.staging env KORE_BACKUP_ENVIRONMENT=staging" in staging
    )
    assert "DATABASE_URL=postgres://x@db/kore_staging" in staging
    restore = subprocess.run(
        ["make", "-n", "db-restore", "BACKUP_PATH=backups/production_x"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert 'manage.py restore "backups/production_x"' in restore
