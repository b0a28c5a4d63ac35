"""manage.py import_transactions: the service's code path, in this process."""

import pytest
from django.core.management import CommandError, call_command

from kore.ledger.models import Transaction

from .conftest import FIXTURES


@pytest.mark.django_db
def test_cli_imports_a_file(world, account, capsys):
    call_command("import_transactions", str(FIXTURES / "statement.qfx"),
                 org=world.org.slug, account=account.pk)  # fmt: skip
    assert "done; created 2" in capsys.readouterr().out
    assert Transaction.objects.filter(account=account, import_job__isnull=False).count() == 2


@pytest.mark.django_db
def test_cli_reports_a_failed_import(world, account):
    with pytest.raises(CommandError, match="import_xml_forbidden"):
        call_command("import_transactions", str(FIXTURES / "xml_bomb.xml"),
                     org=world.org.slug, account=account.pk)  # fmt: skip


@pytest.mark.django_db
def test_cli_refuses_another_orgs_account(world):
    from kore.ledger.tests.factories import AccountFactory

    theirs = AccountFactory(organization=world.other_org)
    with pytest.raises(CommandError, match="invalid_reference"):
        call_command("import_transactions", str(FIXTURES / "statement.qfx"),
                     org=world.org.slug, account=theirs.pk)  # fmt: skip
