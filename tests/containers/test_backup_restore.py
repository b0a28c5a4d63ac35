"""Backups under Compose: `make db-backup` on the host runs the backup in the stack's web container
(the host cannot reach postgres:5432), straight to PostgreSQL; the backup verifies by restoring
into a scratch database on the stack's own server; its config.tar.gz holds the Compose and deploy
files. (The restore into a fresh stack, row counts compared: test_deploy.py.)"""

import json
import secrets

import pytest

from .load import ledger, make_backup, signed_in
from .stack import Stack

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def backup(stack: Stack) -> str:
    auth = signed_in(stack, f"backup-{secrets.token_hex(3)}@kore.test")
    slug, account = ledger(stack, auth, "Backups")
    for n in range(10):
        made = stack.request("POST", f"/api/v1/orgs/{slug}/transactions/", headers=auth,
                             json={"account": account, "occurred_on": "2026-01-10",
                                   "amount": f"-{n}.50"})  # fmt: skip
        assert made.status_code == 201, made.text
    return make_backup(stack)


def test_make_db_backup_runs_in_the_stack_and_verifies(stack: Stack, backup: str) -> None:
    manifest = json.loads(stack.shell(
        "import json\nfrom pathlib import Path\nfrom kore.backups.manifest import manifest_read\n"
        f"m = manifest_read(Path({backup!r}))\nprint(json.dumps([m.tables, m.meta]))\n"
    ).strip().splitlines()[-1])  # fmt: skip
    tables, meta = manifest
    assert tables["ledger_transaction"][0] >= 10, tables
    assert meta["database"] == "kore"
    # Restored into a scratch database on the stack's PostgreSQL, compared table by table.
    verified = stack.manage("backup", "--verify", backup)
    assert "every table matches the manifest" in verified, verified


def test_config_archive_holds_the_compose_and_deploy_files(stack: Stack, backup: str) -> None:
    names = stack.compose(
        "exec", "-T", "django", "python", "-c",
        f"import tarfile; print('\\n'.join(tarfile.open('{backup}/config.tar.gz').getnames()))",
    ).split()  # fmt: skip
    for expected in ("config/production.yml", "config/production.lowmem.yml",
                     "config/scripts/deploy.sh", "config/scripts/nginx-health.sh",
                     "config/docker/production/nginx/Dockerfile",
                     "config/deploy/monitoring/prometheus/alerts.yml",
                     "config/.envs/.env.production.example", "config/environment.txt"):  # fmt: skip
        assert expected in names, expected
    assert not [n for n in names if n.startswith("config/env/")]  # no secrets unless asked
