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


@pytest.mark.django_db
def test_cli_takes_a_mapping_and_a_locale(world, account, capsys):
    call_command("import_transactions", str(FIXTURES / "csv_dates_ambiguous.csv"),
                 org=world.org.slug, account=account.pk, locale="en-US",
                 mapping='{"description": "Description"}')  # fmt: skip
    assert "done; created 3" in capsys.readouterr().out
    first = Transaction.objects.filter(account=account).order_by("import_line").first()
    assert (str(first.occurred_on), first.description) == ("2024-03-04", "Bookshop")


@pytest.mark.django_db
def test_cli_reads_a_file_without_header_by_position(world, account, tmp_path, capsys):
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"date": 1, "amount": 2, "description": 3, "header_line": 0}')
    call_command("import_transactions", str(FIXTURES / "csv_no_header.csv"),
                 org=world.org.slug, account=account.pk, mapping=f"@{mapping}")  # fmt: skip
    assert "done; created 2" in capsys.readouterr().out


@pytest.mark.django_db
def test_cli_refuses_a_bad_mapping_with_the_apis_message(world, account):
    with pytest.raises(CommandError, match=r"date_format: invalid_date_format: Unknown code %Q"):
        call_command("import_transactions", str(FIXTURES / "csv_no_header.csv"),
                     org=world.org.slug, account=account.pk,
                     mapping='{"date_format": "%Q"}')  # fmt: skip
    with pytest.raises(CommandError, match="--mapping is not JSON"):
        call_command("import_transactions", str(FIXTURES / "csv_no_header.csv"),
                     org=world.org.slug, account=account.pk, mapping="{date")  # fmt: skip


@pytest.mark.django_db
def test_cli_prints_each_bad_rows_message_and_value(world, account, capsys):
    with pytest.raises(CommandError, match="import_rows_invalid"):
        call_command("import_transactions", str(FIXTURES / "bad_dates.csv"),
                     org=world.org.slug, account=account.pk)  # fmt: skip
    err = capsys.readouterr().err
    assert "line 3 Date: invalid_date: Not a date like %Y-%m-%d: '2024-13-45'. " \
           "(value '2024-13-45')" in err  # fmt: skip
    assert "line 4 Date: invalid_date: Not a date like %Y-%m-%d: 'yesterday'. " \
           "(value 'yesterday')" in err  # fmt: skip
