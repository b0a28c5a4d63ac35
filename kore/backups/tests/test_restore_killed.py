"""A restore whose pg_restore is killed mid-way leaves the database exactly as it was."""

import io
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from kore.backups import pg
from kore.backups.services import backup_create
from kore.exports.models import ExportJob

from .conftest import Ledger

# Runs as KORE_PG_RESTORE (the "command beside the server" form: it gets -U/-d and pg_restore's
# options). It feeds the real pg_restore the dump a little at a time until pg_restore has begun
# writing (its session holds a transaction id), then kills it with SIGKILL, the rest never sent.
KILLER = """
import os, subprocess, sys, time
import psycopg

args = sys.argv[1:]
if "-d" not in args:  # e.g. `pg_restore -l`: pass through
    os.execvp("pg_restore", ["pg_restore", *args])
value = lambda flag: args[args.index(flag) + 1]
monitor = psycopg.connect(
    host=value("-h"), port=value("-p"), user=value("-U"), dbname="postgres", autocommit=True
)

def begun():
    return monitor.execute(
        "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND application_name = 'pg_restore' "
        "AND backend_xid IS NOT NULL",
        [value("-d")],
    ).fetchone()

dump = sys.stdin.buffer.read()
restore = subprocess.Popen(["pg_restore", *args], stdin=subprocess.PIPE)
step, fed = max(len(dump) // 200, 512), 0
while not begun():
    if fed < len(dump):  # feed the dump a little at a time until pg_restore writes
        restore.stdin.write(dump[fed : fed + step])
        restore.stdin.flush()
        fed += step
    else:
        sys.exit("pg_restore did not begin before it had the whole dump")
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline and not begun():
        time.sleep(0.01)
restore.kill()
restore.wait()
print(f"killed pg_restore after {fed} of {len(dump)} bytes", file=sys.stderr)
sys.exit(-restore.returncode)  # 9, the signal
"""


def database_state() -> dict[str, tuple[int, str]]:
    """Every table of the test database with its row count and the checksum of its rows."""
    name = connection.settings_dict["NAME"]
    with pg.connect(name) as conn:
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            ).fetchall()
        ]
        return pg.table_checksums(conn, tables)


def restore_databases() -> list[str]:
    name = connection.settings_dict["NAME"]
    with pg.connect("postgres") as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
            [f"{name[:30]}_restore_%", f"{name[:30]}_pre_restore_%"],
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def killing_pg_restore(settings, tmp_path: Path) -> None:
    script = tmp_path / "pg_restore_killed.py"
    script.write_text(KILLER)
    db = connection.settings_dict
    settings.KORE_PG_RESTORE = f"{sys.executable} {script} -h {db['HOST']} -p {db['PORT']}"


def test_a_killed_restore_leaves_every_table_row_and_value_as_it_was(
    ledger: Ledger, world, settings, killing_pg_restore
) -> None:
    # A backup from before the exports app, restored after the upgrade that made its table:
    # the table the backup does not know holds a row that must survive the failed restore.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE exports_exportjob CASCADE")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'exports'")
    backup = backup_create()
    call_command("migrate", verbosity=0)
    ExportJob.objects.create(organization=world.org, created_by=world.member, filename="a.xlsx")
    before = database_state()
    assert before["exports_exportjob"][0] == 1
    assert before["ledger_transaction"][0] == 5

    with pytest.raises(CommandError, match=r"pg_restore failed \(9\).*killed pg_restore after"):
        call_command("restore", backup.path, "--yes", stdout=io.StringIO())

    assert database_state() == before
    assert restore_databases() == []  # the half-restored database is gone too
