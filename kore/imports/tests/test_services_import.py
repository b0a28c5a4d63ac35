"""The import service in-process (the worker's code path without the worker)."""

import pytest

from kore.imports.models import ImportJob, ImportMapping
from kore.imports.services import (
    import_job_cancel,
    import_job_create,
    import_job_run,
    import_rows_force,
)
from kore.ledger.models import Transaction
from kore.ledger.services.transactions import transaction_delete
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext

from .conftest import fixture_bytes, upload

# The statement without its closing balance: imported, it is not reconciled (which would close
# its period to deletes and forced rows).
NO_BALANCE = fixture_bytes("statement.ofx").replace(
    b"<LEDGERBAL><BALAMT>80.50<DTASOF>20240131</LEDGERBAL>", b""
)


def ctx_for(world) -> OrgContext:
    return OrgContext(world.org, Role.OWNER, world.owner, None)


def run(world, account, name, data=None, **options) -> ImportJob:
    job = import_job_create(ctx=ctx_for(world), file=upload(name, data), account=account.pk,
                            **options)  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def live(account):
    return Transaction.objects.filter(account=account, deleted_at__isnull=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "count"),
    [("csv_de_sparkasse.csv", 4), ("csv_uk_barclays.csv", 3), ("csv_us_chase.csv", 3),
     ("csv_fr_tab.csv", 3), ("statement.ofx", 3), ("statement.qfx", 2), ("camt053.xml", 3)],
)  # fmt: skip
def test_each_format_imports_every_row_with_provenance(world, account, name, count):
    job = run(world, account, name)
    assert (job.status, job.created_count, job.rows_read, job.rows_total) == (
        "done", count, count, count,
    )  # fmt: skip
    rows = list(live(account))
    assert len(rows) == count
    assert all(t.import_job_id == job.pk and t.import_line and len(t.fingerprint) == 64
               for t in rows)  # fmt: skip


@pytest.mark.django_db
def test_repeated_rows_on_one_day_are_kept_and_reimport_adds_nothing(world, account):
    first = run(world, account, "csv_de_sparkasse.csv")
    second = run(world, account, "csv_de_sparkasse.csv")
    assert first.created_count == 4  # the two identical coffees are two transactions
    assert (second.created_count, second.duplicate_count) == (0, 4)
    dup = second.duplicates[2]
    assert dup["transaction"] in set(live(account).values_list("id", flat=True))
    assert "occurrence 2" in dup["reason"]
    assert live(account).count() == 4


@pytest.mark.django_db
def test_ten_thousand_duplicate_rows(world, account):
    data = b"Date,Description,Amount\n" + b"2024-05-01,Same,-1.00\n" * 10_000
    first = run(world, account, "dups.csv", data)
    second = run(world, account, "dups.csv", data)
    assert first.created_count == 10_000
    assert (second.created_count, second.duplicate_count) == (0, 10_000)
    assert len(second.duplicates) == 1000  # the report keeps the first 1,000
    assert live(account).count() == 10_000


@pytest.mark.django_db
def test_deleted_imported_transactions_come_back_on_reimport(world, account):
    run(world, account, "statement.ofx", NO_BALANCE)
    gone = live(account).get(reference="F2")
    transaction_delete(ctx=ctx_for(world), tx_id=gone.pk)
    again = run(world, account, "statement.ofx", NO_BALANCE)
    assert (again.created_count, again.duplicate_count) == (1, 2)
    assert live(account).filter(reference="F2").count() == 1


@pytest.mark.django_db
def test_all_or_nothing_writes_nothing_when_a_row_is_bad(world, account):
    job = run(world, account, "bad_dates.csv")
    assert (job.status, job.error_code, job.invalid_count) == ("failed", "import_rows_invalid", 2)
    assert job.errors[0] == {"line": 3, "column": "Date", "code": "invalid_date",
                             "message": "Not a date like %Y-%m-%d: '2024-13-45'.",
                             "value": "2024-13-45"}  # fmt: skip
    assert not live(account).exists()


@pytest.mark.django_db
def test_skip_invalid_imports_the_good_rows(world, account):
    job = run(world, account, "bad_dates.csv", mode="skip_invalid")
    assert (job.status, job.created_count, job.invalid_count) == ("done", 1, 2)
    assert live(account).count() == 1


@pytest.mark.django_db
def test_dry_run_reports_without_writing(world, account):
    job = run(world, account, "csv_uk_barclays.csv", dry_run=True)
    assert (job.status, job.created_count) == ("done", 3)
    assert not live(account).exists()
    assert not ImportMapping.objects.filter(account=account).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "code"),
    [("header_only.csv", "import_no_rows"), ("binary.csv", "import_file_binary"),
     ("truncated.csv", "import_csv_malformed"), ("wrong_encoding.csv", "import_encoding_error"),
     ("mixed_delimiters.csv", "import_rows_invalid"), ("xml_bomb.xml", "import_xml_forbidden"),
     ("camt_external_entity.xml", "import_xml_forbidden"),
     ("dates_0001_9999.csv", "import_rows_invalid"),
     ("amounts_40_digits.csv", "import_rows_invalid")],
)  # fmt: skip
def test_bad_files_fail_cleanly_with_nothing_written(world, account, name, code):
    job = run(world, account, name)
    assert (job.status, job.error_code) == ("failed", code)
    assert not Transaction.objects.filter(account=account).exists()


@pytest.mark.django_db
def test_wide_and_long_lines_fail_cleanly(world, account):
    wide = run(world, account, "wide.csv", ",".join(f"c{i}" for i in range(10_000)).encode())
    line = b"2024-01-01," + b"x" * 1024 * 1024 + b",-1.00\n"
    long = run(world, account, "long.csv", b"Date,Description,Amount\n" + line)
    assert (wide.error_code, long.error_code) == ("import_too_many_columns", "import_line_too_long")
    assert not Transaction.objects.filter(account=account).exists()


@pytest.mark.django_db
def test_the_mapping_is_saved_per_account_and_reused(world, account):
    data = b"When;What;How much\n01.02.2024;Rent;-500,00\n"
    mapping = {"date": "When", "description": "What", "amount": "How much"}
    run(world, account, "custom.csv", data, mapping=mapping)
    saved = ImportMapping.objects.get(account=account).mapping
    assert (saved["amount"], saved["decimal"]) == ("How much", ",")
    again = run(world, account, "custom2.csv", b"When;What;How much\n02.02.2024;Rent;-500,00\n")
    assert (again.status, again.created_count) == ("done", 1)


@pytest.mark.django_db
def test_a_skipped_duplicate_can_be_forced(world, account):
    run(world, account, "statement.ofx", NO_BALANCE)
    again = run(world, account, "statement.ofx", NO_BALANCE)
    created = import_rows_force(ctx=ctx_for(world), job_id=again.pk, lines=[1])
    assert live(account).count() == 4
    assert live(account).get(pk=created[0]["transaction"]).reference == "F1"
    third = run(world, account, "statement.ofx", NO_BALANCE)
    assert (third.created_count, third.duplicate_count) == (0, 3)


@pytest.mark.django_db
def test_a_message_for_a_job_not_queued_does_nothing(world, account):
    job = run(world, account, "statement.ofx")
    import_job_run(job_id=job.pk)  # a duplicate delivery
    assert live(account).count() == 3


@pytest.mark.django_db
def test_a_cancelled_queued_job_never_runs(world, account):
    job = import_job_create(ctx=ctx_for(world), file=upload("statement.ofx"), account=account.pk)
    import_job_cancel(ctx=ctx_for(world), job_id=job.pk)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not live(account).exists()


@pytest.mark.django_db
def test_a_resumed_job_skips_lines_up_to_its_cursor(world, account):
    job = import_job_create(ctx=ctx_for(world), file=upload("csv_uk_barclays.csv"),
                            account=account.pk)  # fmt: skip
    ImportJob.objects.filter(pk=job.pk).update(cursor=2)  # as if line 2 was committed, then a crash
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 2)
    assert sorted(live(account).values_list("import_line", flat=True)) == [3, 4]


@pytest.mark.django_db
def test_skip_invalid_with_every_row_invalid_is_a_failed_import(world, account):
    data = b"Date,Description,Amount\n2024-02-30,Bad day,-1.00\n2024-13-01,Bad month,-2.00\n"
    job = run(world, account, "all_bad.csv", data, mode="skip_invalid")
    assert (job.status, job.error_code, job.invalid_count, job.created_count) == (
        "failed", "import_rows_invalid", 2, 0,
    )  # fmt: skip
    assert job.error_message == "2 of 2 rows break a rule; nothing was written (see errors)."
    assert [e["code"] for e in job.errors] == ["invalid_date", "invalid_date"]
    assert not live(account).exists()
