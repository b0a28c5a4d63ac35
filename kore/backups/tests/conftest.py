"""A small organisation with transactions and an attachment, committed for pg_dump to see."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from kore.backups import pg
from kore.core.testing_binaries import debian_binary
from kore.ledger.models import Account, Attachment
from kore.ledger.services.attachments import attachment_create
from kore.ledger.services.transactions import transaction_create
from kore.ledger.tests.factories import AccountFactory
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext


@dataclass
class Ledger:
    ctx: OrgContext
    account: Account
    attachment: Attachment


def add_transaction(ledger: Ledger, amount: str = "-5.00") -> int:
    """One transaction through the service, as the application writes it."""
    tx = transaction_create(
        ctx=ledger.ctx,
        account=ledger.account.pk,
        occurred_on=date(2026, 1, 15),
        amount=Decimal(amount),
        tags=["rent"],
    )
    return int(tx.pk)


@pytest.fixture
def backup_dirs(settings, tmp_path: Path) -> Path:
    settings.KORE_BACKUP_DIR = tmp_path / "backups"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.KORE_BACKUP_ENVIRONMENT = "test"
    settings.KORE_PG_DUMP = ""  # PATH's pg_dump and pg_restore: PostgreSQL's client package
    settings.KORE_PG_RESTORE = ""
    debian_binary("pg_dump", "postgresql-client")
    debian_binary("pg_restore", "postgresql-client")
    return tmp_path / "backups"


@pytest.fixture
def ledger(transactional_db, world, backup_dirs) -> Ledger:
    ctx = OrgContext(world.org, Role.MEMBER, world.member, None)
    account = AccountFactory(organization=world.org, currency="EUR")
    result = Ledger(ctx=ctx, account=account, attachment=None)  # type: ignore[arg-type]
    first = add_transaction(result)
    for _ in range(4):
        add_transaction(result, "12.50")
    result.attachment = attachment_create(
        ctx=ctx, file=ContentFile(b"%PDF-1.4 receipt\n", name="receipt.pdf"), transaction=first
    )
    return result


def scratch_databases() -> list[str]:
    """Verify databases left on the server for this test database."""
    name = connection.settings_dict["NAME"]
    with pg.connect("postgres") as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{name[:30]}_verify_%"]
        ).fetchall()
    return [r[0] for r in rows]
