"""The PostgreSQL write path (COPY into staging, INSERT … SELECT into the ledger) against the ORM
path it replaces: same rows, same history, same duplicate handling, across chunk boundaries."""

import logging
import re
from datetime import date
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from kore.imports import services
from kore.imports.models import ImportJob
from kore.imports.services import import_job_create, import_job_run
from kore.ledger.models import LedgerState, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.ledger.tests.factories_tx import TransactionFactory
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.payees.models import Rule
from kore.suggestions.models import AppliedSuggestion, SuggestionSettings
from kore.suggestions.services import suggestion_model_train
from kore.suggestions.tests.helpers import history_write

from .conftest import upload

pytestmark = pytest.mark.django_db

# Awkward text on purpose: COPY escapes (backslash, tab-like content), quotes, non-ASCII.
CSV = (
    "Date,Description,Payee,Reference,Amount\n"
    "2024-03-01,Coffee,Café Zürich,R1,-3.50\n"
    "2024-03-01,Coffee,Café Zürich,R1,-3.50\n"  # the same coffee twice that day: two rows
    '2024-03-02,"Rent, March",Hausverwaltung,"C:\\\\path\\\\x",-1200.00\n'
    "2024-03-03,Salary,ACME \\N Ltd,,2500\n"
    "2024-03-04,Refund,Shop,R9,0.5\n"
    "not a date,Broken,Shop,R10,1.00\n"
    "2024-03-05,Last,Shop,R11,-0.01\n"
)


def run(world, account, data: bytes, **options) -> ImportJob:
    job = import_job_create(
        ctx=OrgContext(world.org, Role.OWNER, world.owner, None),
        file=upload("s.csv", data),
        account=account.pk,
        mode=ImportJob.Mode.SKIP_INVALID,
        **options,
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def snapshot(account) -> list[tuple[dict, list[dict]]]:
    """Each transaction (file order) with its history, minus what differs by nature
    (ids, the account, timestamps, change numbers, the fingerprint that includes the account)."""
    volatile = {
        "id",
        "account",
        "created_at",
        "updated_at",
        "fingerprint",
        "import_job",
        "change_seq",
    }
    history_volatile = volatile | {"history_id", "history_date"}
    out = []
    for tx in Transaction.objects.filter(account=account).order_by("import_line"):
        row = {k: v for k, v in model_to_dict(tx).items() if k not in volatile}
        row["has_tags"], row["has_splits"] = tx.has_tags, tx.has_splits
        history = [
            {k: v for k, v in model_to_dict(h).items() if k not in history_volatile}
            | {"history_user_id": h.history_user_id, "history_type": h.history_type}
            for h in tx.history.all()
        ]
        out.append((row, history))
    return out


def test_staged_rows_and_history_equal_the_orm_path(world, monkeypatch):
    staged_account = AccountFactory(organization=world.org, currency="EUR", name="Staged")
    orm_account = AccountFactory(organization=world.org, currency="EUR", name="ORM")
    staged = run(world, staged_account, CSV.encode())
    monkeypatch.setattr(services, "_staged", lambda: False)
    orm = run(world, orm_account, CSV.encode())
    assert (staged.created_count, staged.invalid_count) == (orm.created_count, orm.invalid_count)
    assert staged.created_count == 6
    a, b = snapshot(staged_account), snapshot(orm_account)
    assert a == b
    rent = Transaction.objects.get(account=staged_account, import_line=4)
    assert (rent.description, rent.reference, rent.amount) == (
        "Rent, March", "C:\\\\path\\\\x", Decimal("-1200.00"),
    )  # fmt: skip
    assert Transaction.objects.get(account=staged_account, import_line=5).counterparty == (
        "ACME \\N Ltd"
    )
    history = rent.history.get()
    assert (history.history_type, history.history_user_id) == ("+", world.owner.pk)
    # One change number per chunk, before the ORM import's.
    assert rent.change_seq == LedgerState.objects.get(organization=world.org).version - 1


def lines_csv(numbers) -> bytes:
    body = "".join(f"2024-01-{1 + n % 28:02d},Row {n},-{n}.25\n" for n in numbers)
    return ("Date,Description,Amount\n" + body).encode()


def test_duplicates_across_and_within_chunks(world, account, monkeypatch):
    monkeypatch.setattr(services, "STAGED_CHUNK_ROWS", 3)
    first = run(world, account, lines_csv(range(10)))
    assert (first.created_count, first.duplicate_count) == (10, 0)
    ids = {t.import_line: t.pk for t in Transaction.objects.filter(import_job=first)}
    # Rows 5..9 again (lines 2..6 of the second file), then 10 new ones: the duplicates span
    # two chunks of 3 and share the second chunk with new rows.
    second = run(world, account, lines_csv([*range(5, 10), *range(10, 20)]))
    assert (second.created_count, second.duplicate_count, second.rows_read) == (10, 5, 15)
    assert [d["line"] for d in second.duplicates] == [2, 3, 4, 5, 6]
    assert [d["transaction"] for d in second.duplicates] == [ids[n + 2] for n in range(5, 10)]
    assert second.duplicates[0]["values"] == {
        "occurred_on": "2024-01-06", "amount": "-5.25", "description": "Row 5",
        "counterparty": "", "reference": "",
    }  # fmt: skip
    assert Transaction.objects.filter(account=account).count() == 20
    # A dry run reports the same counts and writes nothing.
    dry = run(world, account, lines_csv(range(25)), dry_run=True)
    assert (dry.created_count, dry.duplicate_count, dry.status) == (5, 20, "done")
    assert Transaction.objects.filter(account=account).count() == 20


def test_an_import_logs_where_its_time_went(world, account, caplog):
    """One line per import: rows read and the seconds of pass 1 (read, check, stage), rows
    written and the seconds of pass 2; ``make bench`` reads it from the worker's log."""
    run(world, account, lines_csv(range(5)))
    with caplog.at_level(logging.INFO, logger="kore.imports.services"):
        job = run(world, account, lines_csv(range(15)))
    [record] = [r for r in caplog.records if getattr(r, "import_job", None) == job.pk]
    assert (record.rows_read, record.rows_created) == (15, 10)
    assert record.read_s > 0
    assert record.write_s > 0
    said = re.fullmatch(r"import (\d+): read (\d+) rows in ([\d.]+) s, wrote (\d+) in ([\d.]+) s",
                        record.getMessage())  # fmt: skip
    assert said is not None
    assert said.group(1, 2, 4) == (str(job.pk), "15", "10")


def test_resume_after_a_cursor_inside_a_chunk_writes_the_rest_once(world, account, monkeypatch):
    """A job re-claimed with a cursor (from a killed worker) continues after it."""
    monkeypatch.setattr(services, "STAGED_CHUNK_ROWS", 4)
    job = import_job_create(
        ctx=OrgContext(world.org, Role.OWNER, world.owner, None),
        file=upload("s.csv", lines_csv(range(10))),
        account=account.pk,
    )
    # As if a worker had committed lines 2..4 and died (a cursor that is no chunk boundary).
    ImportJob.objects.filter(pk=job.pk).update(cursor=4)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rows_read) == ("done", 7, 10)
    lines = sorted(Transaction.objects.filter(import_job=job).values_list("import_line", flat=True))
    assert lines == list(range(5, 12))


def test_rules_tags_and_notes_across_chunks_equal_the_orm_path(world, monkeypatch):
    """Tags, notes and categories rules give: each tagged row linked to its own transaction in
    every chunk, the earlier chunks' rows given nothing more by the later ones."""
    category = CategoryFactory(organization=world.org)
    for n, (conditions, actions) in enumerate([
        ([{"field": "description", "op": "contains", "value": "row 1"}], {"tags": ["ones"]}),
        ([{"field": "description", "op": "regex", "value": r"row \d*[02468]$"}],
         {"tags": ["even", "x"], "notes": "even", "category": category.pk}),
    ]):  # fmt: skip
        Rule.objects.create(
            organization=world.org, name=f"r{n}", position=n, conditions=conditions,
            actions=actions,
        )  # fmt: skip
    monkeypatch.setattr(services, "STAGED_CHUNK_ROWS", 3)
    staged_account = AccountFactory(organization=world.org, currency="EUR", name="Staged")
    orm_account = AccountFactory(organization=world.org, currency="EUR", name="ORM")
    staged = run(world, staged_account, lines_csv(range(1, 15)))
    monkeypatch.setattr(services, "_staged", lambda: False)
    run(world, orm_account, lines_csv(range(1, 15)))
    assert staged.created_count == 14
    assert snapshot(staged_account) == snapshot(orm_account)
    tagged = {
        t.description: sorted(g.name for g in t.tags.all())
        for t in Transaction.objects.filter(account=staged_account)
    }
    # The first rule that sets a field wins: row 12 keeps the first rule's tags.
    assert (tagged["Row 1"], tagged["Row 12"], tagged["Row 13"]) == (["ones"], ["ones"], ["ones"])
    assert (tagged["Row 3"], tagged["Row 4"], tagged["Row 14"]) == ([], ["even", "x"], ["ones"])
    even = Transaction.objects.get(account=staged_account, description="Row 12")
    assert (even.notes, even.category_id) == ("even", category.pk)


def applied(account) -> list[tuple[int, int, str, list, str, bool]]:
    """The account's applied suggestions: (line, category, confidence, suggested, how, by job)."""
    return [
        (a.transaction.import_line, a.category_id, str(a.confidence), a.suggested, a.how,
         a.import_job_id == a.transaction.import_job_id)
        for a in AppliedSuggestion.objects.filter(transaction__account=account)
        .select_related("transaction")
        .order_by("transaction__import_line")
    ]  # fmt: skip


def test_auto_applied_suggestions_across_chunks_equal_the_orm_path(world, monkeypatch):
    """Auto-apply decides before a row is written: the staged path writes each row once with its
    suggested category, and the rows, their audit trail ('+' as imported, then '~' with the
    reason ``suggestion``) and the AppliedSuggestion rows equal the ORM path's; a rule's
    category wins over a suggestion."""
    categories = history_write(world.org, AccountFactory(organization=world.org, name="Past"))
    suggestion_model_train(organization=world.org)
    SuggestionSettings.objects.create(organization=world.org, auto_apply_confidence="0.60")
    rent = CategoryFactory(organization=world.org, name="Rent")
    Rule.objects.create(
        organization=world.org, name="rent", position=0, actions={"category": rent.pk},
        conditions=[{"field": "description", "op": "contains", "value": "netflix.com 3"}],
    )  # fmt: skip
    texts = ["NETFLIX.COM {n} AMSTERDAM", "Shell Station {n}", "Zqxv Wplk {n}"]
    body = "".join(
        f"2024-01-{1 + n:02d},{texts[n % 3].format(n=n)},-{10 + n}.99\n" for n in range(10)
    )
    data = ("Date,Description,Amount\n" + body).encode()
    monkeypatch.setattr(services, "STAGED_CHUNK_ROWS", 3)
    staged_account = AccountFactory(organization=world.org, currency="EUR", name="Staged")
    orm_account = AccountFactory(organization=world.org, currency="EUR", name="ORM")
    staged = run(world, staged_account, data)
    monkeypatch.setattr(services, "_staged", lambda: False)
    run(world, orm_account, data)
    assert staged.created_count == 10
    assert snapshot(staged_account) == snapshot(orm_account)
    assert applied(staged_account) == applied(orm_account)
    rows = {t.import_line: t for t in Transaction.objects.filter(account=staged_account)}
    netflix, fuel, ruled = rows[2], rows[3], rows[5]  # lines: NETFLIX 0, Shell 1, NETFLIX 3
    assert (netflix.category_id, fuel.category_id) == (
        categories["Subscriptions"].pk, categories["Fuel"].pk,
    )  # fmt: skip
    assert rows[11].category_id == categories["Subscriptions"].pk  # the last chunk's row 9
    assert (ruled.category_id, ruled.version) == (rent.pk, 1)
    assert not AppliedSuggestion.objects.filter(transaction=ruled).exists()
    trail = [
        (h.history_type, h.history_change_reason, h.category_id, h.version)
        for h in netflix.history.order_by("history_id")
    ]
    assert trail == [("+", None, None, 1), ("~", "suggestion", netflix.category_id, 2)]
    assert [line for line, *_ in applied(staged_account)] == sorted(
        line for line, t in rows.items() if t.category_id and t.category_id != rent.pk
    )


@pytest.mark.parametrize("staged", [True, False])
def test_a_row_booked_onto_a_hand_entered_transaction_gets_its_suggestion_once_written(
    world, monkeypatch, staged
):
    """A row linked to a transaction entered by hand is not written anew: auto-apply decides
    it once the import has written everything, as it decided every row before."""
    categories = history_write(world.org, AccountFactory(organization=world.org, name="Past"))
    suggestion_model_train(organization=world.org)
    SuggestionSettings.objects.create(organization=world.org, auto_apply_confidence="0.60")
    account = AccountFactory(organization=world.org, currency="EUR", name="Card")
    hand = TransactionFactory(
        account=account, occurred_on=date(2024, 3, 5), amount=Decimal("-4.50"),
        counterparty="SQ *BLUE BOTTLE COFFEE OAKLAND CA", description="card 1",
    )  # fmt: skip
    data = b"Date,Payee,Amount\n2024-03-05,SQ *BLUE BOTTLE COFFEE OAKLAND CA,-4.50\n"
    monkeypatch.setattr(services, "_staged", lambda: staged)
    job = run(world, account, data)
    assert (job.matched_count, job.created_count) == (1, 0)
    hand.refresh_from_db()
    assert (hand.import_job_id, hand.category_id) == (job.pk, categories["Coffee"].pk)
    assert AppliedSuggestion.objects.get(transaction=hand).import_job_id == job.pk
    assert hand.history.first().history_change_reason == "suggestion"


@pytest.mark.parametrize("staged", [True, False])
def test_a_resumed_import_decides_the_rows_its_earlier_attempt_wrote(world, monkeypatch, staged):
    """A job claimed again after its worker died: the rows the first attempt wrote up to the
    cursor are decided once the import is written (the first attempt may not have)."""
    categories = history_write(world.org, AccountFactory(organization=world.org, name="Past"))
    suggestion_model_train(organization=world.org)
    SuggestionSettings.objects.create(organization=world.org, auto_apply_confidence="0.60")
    account = AccountFactory(organization=world.org, currency="EUR", name="Card")
    data = b"Date,Description,Amount\n2024-03-01,NETFLIX.COM 1 AMSTERDAM,-12.99\n"
    data += b"2024-03-02,NETFLIX.COM 2 AMSTERDAM,-12.99\n"
    job = import_job_create(
        ctx=OrgContext(world.org, Role.OWNER, world.owner, None),
        file=upload("s.csv", data),
        account=account.pk,
    )
    # As if the first attempt had written line 2 and died before deciding it.
    first = TransactionFactory(
        account=account, occurred_on=date(2024, 3, 1), amount=Decimal("-12.99"),
        description="NETFLIX.COM 1 AMSTERDAM", import_job=job, import_line=2,
        fingerprint="written-before",
    )  # fmt: skip
    ImportJob.objects.filter(pk=job.pk).update(cursor=2)
    monkeypatch.setattr(services, "_staged", lambda: staged)
    import_job_run(job_id=job.pk)
    subscriptions = categories["Subscriptions"].pk
    rows = Transaction.objects.filter(account=account).order_by("import_line")
    lines = [(t.import_line, t.category_id) for t in rows]
    assert lines == [(2, subscriptions), (3, subscriptions)]
    assert AppliedSuggestion.objects.filter(transaction=first).exists()
