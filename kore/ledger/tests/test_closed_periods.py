"""Closed periods: nothing dated on or before an account's latest reconciled statement, or the
organisation's lock date, is created, changed, deleted or restored (409 ``period_reconciled``),
whichever way a user tries: API, batch, bulk edit, transfer, web form, undo, import."""

from datetime import date
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.db import transaction as db_transaction
from django.utils import timezone
from rest_framework.test import APIClient

from kore.core.exceptions import Conflict
from kore.core.testing import assert_error, client_for
from kore.imports import services as import_services
from kore.imports.services import import_job_create, import_job_run
from kore.imports.tests.conftest import upload
from kore.ledger.models import Statement, Transaction
from kore.ledger.services.bulk_sql import transactions_insert_select
from kore.ledger.services.state import ledger_version_bump
from kore.ledger.services.statements import statement_create, statement_reconcile
from kore.ledger.tests.factories import AccountFactory, base
from kore.orgs.models import Membership, Role, SecurityEvent
from kore.orgs.scoping import OrgContext
from kore.orgs.services import api_token_create
from kore.web.tests.helpers import browser

END = date(2026, 1, 31)


def _ctx(world) -> OrgContext:
    return OrgContext(world.org, Role.OWNER, world.owner, None)


def _tx(world, account, day, amount="-10.00", status="pending", **extra):
    return Transaction.objects.create(
        organization=world.org, account=account, occurred_on=day, amount=Decimal(amount),
        currency=account.currency, status=status, **extra,
    )  # fmt: skip


@pytest.fixture
def closed(world):
    """Checking: opening 100.00, a cleared -20.00 on 5 January, reconciled through 31 January;
    an uncleared -3.00 on 10 January (inside the period, not counted), one open row in February."""
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="100.00")
    cleared = _tx(world, account, date(2026, 1, 5), "-20.00", status="cleared")
    inside = _tx(world, account, date(2026, 1, 10), "-3.00")
    after = _tx(world, account, date(2026, 2, 3), "-7.00")
    statement = statement_create(
        ctx=_ctx(world), account=account.pk, end_date=END, closing_balance=Decimal("80.00")
    )
    statement_reconcile(ctx=_ctx(world), statement_id=statement.pk)
    cleared.refresh_from_db()
    assert cleared.status == "reconciled"
    return {"account": account, "inside": inside, "after": after, "statement": statement}


def _period_refused(response) -> dict:
    error = assert_error(response, 409, "period_reconciled")
    assert "2026-01-31" in error["message"]
    assert "occurred_on" in error["fields"]
    return error


def _unchanged(account, count: int) -> None:
    assert Transaction.objects.filter(account=account, deleted_at__isnull=True).count() == count


# --- API: one, a batch, an edit, a delete, a restore -------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("day", ["2026-01-31", "2025-12-01"])
def test_a_new_transaction_in_the_reconciled_period_is_refused(world, closed, day):
    account = closed["account"]
    response = client_for(world.member).post(
        f"{base(world)}/transactions/",
        {"account": account.pk, "occurred_on": day, "amount": "-1.00"},
        format="json",
    )
    _period_refused(response)
    _unchanged(account, 3)


@pytest.mark.django_db
def test_the_day_after_the_statement_is_open(world, closed):
    response = client_for(world.member).post(
        f"{base(world)}/transactions/",
        {"account": closed["account"].pk, "occurred_on": "2026-02-01", "amount": "-1.00"},
        format="json",
    )
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_another_accounts_period_is_its_own(world, closed):
    other = AccountFactory(organization=world.org, currency="EUR")
    response = client_for(world.member).post(
        f"{base(world)}/transactions/",
        {"account": other.pk, "occurred_on": "2026-01-10", "amount": "-1.00"},
        format="json",
    )
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_a_batch_with_one_row_in_the_period_writes_nothing(world, closed):
    account = closed["account"]
    items = [
        {"account": account.pk, "occurred_on": "2026-02-10", "amount": "-1.00"},
        {"account": account.pk, "occurred_on": "2026-01-15", "amount": "-2.00"},
    ]
    response = client_for(world.member).post(
        f"{base(world)}/transactions/bulk/", {"items": items}, format="json"
    )
    _period_refused(response)
    _unchanged(account, 3)


@pytest.mark.django_db
def test_an_uncleared_row_inside_the_period_cannot_be_edited(world, closed):
    inside = closed["inside"]
    response = client_for(world.member).patch(
        f"{base(world)}/transactions/{inside.pk}/", {"amount": "-300.00"}, format="json"
    )
    _period_refused(response)
    inside.refresh_from_db()
    assert (inside.amount, inside.version) == (Decimal("-3.00"), 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "new_date"),
    [("after", "2026-01-20"), ("inside", "2026-02-20")],
    ids=["into the period", "out of the period"],
)
def test_an_edit_moving_a_date_into_or_out_of_the_period_is_refused(world, closed, row, new_date):
    tx = closed[row]
    before = tx.occurred_on
    response = client_for(world.member).patch(
        f"{base(world)}/transactions/{tx.pk}/", {"occurred_on": new_date}, format="json"
    )
    _period_refused(response)
    tx.refresh_from_db()
    assert tx.occurred_on == before


@pytest.mark.django_db
def test_moving_a_row_to_an_account_whose_period_covers_its_date_is_refused(world, closed):
    other = AccountFactory(organization=world.org, currency="EUR")
    loose = _tx(world, other, date(2026, 1, 20))
    response = client_for(world.member).patch(
        f"{base(world)}/transactions/{loose.pk}/",
        {"account": closed["account"].pk},
        format="json",
    )
    _period_refused(response)
    loose.refresh_from_db()
    assert loose.account_id == other.pk


@pytest.mark.django_db
def test_rows_after_the_period_stay_editable(world, closed):
    after = closed["after"]
    response = client_for(world.member).patch(
        f"{base(world)}/transactions/{after.pk}/", {"amount": "-8.00"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["amount"] == "-8.00"


@pytest.mark.django_db
def test_an_uncleared_row_inside_the_period_cannot_be_deleted(world, closed):
    inside = closed["inside"]
    response = client_for(world.member).delete(f"{base(world)}/transactions/{inside.pk}/")
    _period_refused(response)
    inside.refresh_from_db()
    assert inside.deleted_at is None


@pytest.mark.django_db
def test_a_row_deleted_before_the_period_closed_cannot_be_restored_into_it(world):
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="0")
    gone = _tx(world, account, date(2026, 1, 9), deleted_at=timezone.now())
    statement = statement_create(
        ctx=_ctx(world), account=account.pk, end_date=END, closing_balance=Decimal("0")
    )
    statement_reconcile(ctx=_ctx(world), statement_id=statement.pk)
    response = client_for(world.member).post(f"{base(world)}/transactions/{gone.pk}/restore/")
    _period_refused(response)
    gone.refresh_from_db()
    assert gone.deleted_at is not None


# --- Bulk edits and transfers ------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("action", ["bulk-update", "bulk-delete"])
def test_bulk_edits_touching_the_period_change_nothing(world, closed, action):
    ids = [closed["after"].pk, closed["inside"].pk]
    body: dict = {"ids": ids}
    if action == "bulk-update":
        body["set"] = {"status": "cleared"}
    response = client_for(world.member).post(
        f"{base(world)}/transactions/{action}/", body, format="json"
    )
    _period_refused(response)
    rows = Transaction.objects.filter(pk__in=ids)
    assert {(t.status, t.deleted_at, t.version) for t in rows} == {("pending", None, 1)}


@pytest.mark.django_db
def test_a_bulk_edit_by_filter_reaching_into_the_period_is_refused(world, closed):
    response = client_for(world.member).post(
        f"{base(world)}/transactions/bulk-update/",
        {"filter": {"account": closed["account"].pk, "status": "pending"},
         "add_tags": ["late"]},
        format="json",
    )  # fmt: skip
    _period_refused(response)
    assert not Transaction.tags.through.objects.exists()


@pytest.mark.django_db
def test_a_transfer_with_a_leg_in_the_period_is_refused(world, closed):
    other = AccountFactory(organization=world.org, currency="EUR")
    response = client_for(world.member).post(
        f"{base(world)}/transfers/",
        {"from_account": other.pk, "to_account": closed["account"].pk, "amount": "5.00",
         "occurred_on": "2026-01-20"},
        format="json",
    )  # fmt: skip
    _period_refused(response)
    assert not Transaction.objects.filter(account=other).exists()


# --- Reopening opens the period again ----------------------------------------------------------
@pytest.mark.django_db
def test_after_reopening_the_statement_the_period_is_open_again(world, closed):
    admin = client_for(world.admin)
    reopen = admin.post(f"{base(world)}/statements/{closed['statement'].pk}/reopen/")
    assert reopen.status_code == 200, reopen.json()
    response = admin.patch(
        f"{base(world)}/transactions/{closed['inside'].pk}/", {"amount": "-4.00"}, format="json"
    )
    assert response.status_code == 200, response.json()


# --- The organisation's lock date --------------------------------------------------------------
def _token_client(world, role=Role.ADMIN) -> APIClient:
    creator_role = Membership.objects.get(organization=world.org, user=world.owner).role
    _, raw = api_token_create(
        organization=world.org, creator=world.owner, creator_role=creator_role, name="ci",
        role=role,
    )  # fmt: skip
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.django_db
def test_an_admin_moves_the_lock_date_and_the_move_is_audited(world):
    url = f"{base(world)}/lock-date/"
    admin = client_for(world.admin)
    assert admin.get(url).json() == {"lock_date": None}
    response = admin.put(url, {"lock_date": "2026-03-31"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"lock_date": "2026-03-31"}
    assert client_for(world.viewer).get(f"{base(world)}/").json()["lock_date"] == "2026-03-31"
    admin.put(url, {"lock_date": None}, format="json")
    events = SecurityEvent.objects.filter(organization=world.org, kind="lock_date_changed")
    assert [(e.actor_id, e.detail) for e in events.order_by("created_at", "id")] == [
        (world.admin.pk, {"from": None, "to": "2026-03-31"}),
        (world.admin.pk, {"from": "2026-03-31", "to": None}),
    ]


@pytest.mark.django_db
def test_an_api_token_never_moves_the_lock_date_whatever_its_role(world):
    url = f"{base(world)}/lock-date/"
    client = _token_client(world, Role.OWNER)
    assert_error(client.put(url, {"lock_date": "2026-03-31"}, format="json"), 403, "human_only")
    assert client.get(url).json() == {"lock_date": None}
    world.org.refresh_from_db()
    assert world.org.lock_date is None
    assert not SecurityEvent.objects.filter(kind="lock_date_changed").exists()


@pytest.mark.django_db
def test_a_member_cannot_move_the_lock_date(world):
    response = client_for(world.member).put(
        f"{base(world)}/lock-date/", {"lock_date": "2026-03-31"}, format="json"
    )
    assert_error(response, 403, "permission_denied")


@pytest.mark.django_db
def test_a_lock_date_closes_every_account(world):
    first = AccountFactory(organization=world.org, currency="EUR")
    second = AccountFactory(organization=world.org, currency="USD")
    old = _tx(world, second, date(2026, 3, 1))
    client_for(world.owner).put(f"{base(world)}/lock-date/", {"lock_date": "2026-03-31"},
                                format="json")  # fmt: skip
    member = client_for(world.member)
    for account in (first, second):
        response = member.post(
            f"{base(world)}/transactions/",
            {"account": account.pk, "occurred_on": "2026-03-31", "amount": "-1.00"},
            format="json",
        )
        error = assert_error(response, 409, "period_reconciled")
        assert "locked through 2026-03-31" in error["message"]
    assert_error(member.delete(f"{base(world)}/transactions/{old.pk}/"), 409, "period_reconciled")
    ok = member.post(
        f"{base(world)}/transactions/",
        {"account": first.pk, "occurred_on": "2026-04-01", "amount": "-1.00"},
        format="json",
    )
    assert ok.status_code == 201


@pytest.mark.django_db
def test_a_malformed_lock_date_is_a_400_naming_the_field(world):
    response = client_for(world.admin).put(
        f"{base(world)}/lock-date/", {"lock_date": "31/03/2026"}, format="json"
    )
    error = assert_error(response, 400)
    assert "lock_date" in error["fields"]


# --- The web app: form, bulk, undo --------------------------------------------------------------
def _web(world, path: str) -> str:
    return f"/o/{world.org.slug}/{path}"


@pytest.mark.django_db
def test_the_web_form_refuses_a_date_in_the_period_and_says_why(world, closed):
    form = {"account": closed["account"].pk, "occurred_on": "2026-01-12", "amount": "-9.00",
            "status": "pending", "description": "Late receipt"}  # fmt: skip
    response = browser(world.member).post(_web(world, "transactions/new/"), form)
    assert response.status_code == 409
    assert "closed period" in response.content.decode()
    assert not Transaction.objects.filter(description="Late receipt").exists()


@pytest.mark.django_db
def test_web_bulk_and_undo_respect_the_period(world):
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="0")
    rows = [_tx(world, account, date(2026, 1, d)) for d in (3, 4)]
    client = browser(world.admin)
    response = client.post(
        _web(world, "transactions/bulk/"), {"ids": [t.pk for t in rows], "action": "delete"}
    )
    undo = unquote(response["Location"].split("undo=")[1])
    client.put(f"{base(world)}/lock-date/", {"lock_date": "2026-01-31"},
               content_type="application/json")  # fmt: skip
    world.org.refresh_from_db()
    assert world.org.lock_date == END
    page = client.post(_web(world, "transactions/restore/"), {"undo": undo}, follow=True)
    assert "locked through 2026-01-31" in page.content.decode()
    assert Transaction.objects.filter(account=account, deleted_at__isnull=True).count() == 0
    live = _tx(world, account, date(2026, 1, 6))
    page = client.post(
        _web(world, "transactions/bulk/"),
        {"ids": [live.pk], "action": "categorise", "category": ""},
        follow=True,
    )
    assert "locked through 2026-01-31" in page.content.decode()


# --- Imports ----------------------------------------------------------------------------------
CSV = b"Date,Description,Amount\n2026-01-20,Coffee,-3.10\n2026-02-02,Bakery,-4.20\n"


def _import(world, account, data: bytes, **options):
    job = import_job_create(
        ctx=_ctx(world), file=upload("bank.csv", data), account=account.pk, **options
    )
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
@pytest.mark.parametrize("staged", [True, False], ids=["postgresql staging", "orm"])
def test_an_import_with_a_new_row_in_the_period_fails_and_writes_nothing(
    world, closed, monkeypatch, staged
):
    monkeypatch.setattr(import_services, "_staged", lambda: staged)
    account = closed["account"]
    job = _import(world, account, CSV)
    assert (job.status, job.error_code) == ("failed", "period_reconciled")
    assert "2026-01-31" in job.error_message
    assert job.created_count == 0
    _unchanged(account, 3)


@pytest.mark.django_db
@pytest.mark.parametrize("staged", [True, False], ids=["postgresql staging", "orm"])
def test_reimporting_rows_already_in_the_closed_period_is_fine(world, monkeypatch, staged):
    """Bank files overlap: rows of the closed period already in the ledger are duplicates."""
    monkeypatch.setattr(import_services, "_staged", lambda: staged)
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="0")
    first = _import(world, account, CSV.replace(b"2026-02-02,Bakery,-4.20\n", b""))
    assert first.created_count == 1
    Transaction.objects.filter(account=account).update(status="cleared")
    statement = statement_create(
        ctx=_ctx(world), account=account.pk, end_date=END, closing_balance=Decimal("-3.10")
    )
    statement_reconcile(ctx=_ctx(world), statement_id=statement.pk)
    second = _import(world, account, CSV)
    assert (second.status, second.created_count, second.duplicate_count) == ("done", 1, 1)


@pytest.mark.django_db
def test_a_dry_run_reports_the_closed_period_too(world, closed):
    job = _import(world, closed["account"], CSV, dry_run=True)
    assert (job.status, job.error_code) == ("failed", "period_reconciled")


@pytest.mark.django_db
def test_the_set_based_insert_checks_the_period_under_the_ledger_lock(world, closed):
    """The last line of defence for imports: a statement reconciled between an import's check
    and its write still keeps the row out."""
    account = closed["account"]
    with db_transaction.atomic():
        seq = ledger_version_bump(organization=world.org)
    with pytest.raises(Conflict) as refused, db_transaction.atomic():
        transactions_insert_select(
            source="SELECT DATE '2026-01-30' AS occurred_on, -1.00::numeric AS amount",
            params=[],
            columns=("occurred_on", "amount"),
            values={"organization_id": world.org.pk, "account_id": account.pk,
                    "currency": "EUR", "change_seq": seq},
            history_user_id=None,
            now=timezone.now(),
        )  # fmt: skip
    assert refused.value.code == "period_reconciled"
    _unchanged(account, 3)
    assert Statement.objects.get(pk=closed["statement"].pk).status == "reconciled"


@pytest.mark.django_db
def test_forcing_a_skipped_duplicate_into_the_period_is_refused(world):
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="0")
    _import(world, account, CSV)
    again = _import(world, account, CSV)
    coffee = next(d["line"] for d in again.duplicates if d["values"]["occurred_on"] == "2026-01-20")
    client_for(world.owner).put(
        f"{base(world)}/lock-date/", {"lock_date": "2026-01-31"}, format="json"
    )
    response = client_for(world.member).post(
        f"{base(world)}/imports/{again.pk}/force/", {"lines": [coffee]}, format="json"
    )
    assert_error(response, 409, "period_reconciled")
    _unchanged(account, 2)


@pytest.mark.django_db
def test_the_opening_balance_of_a_reconciled_account_stays_put(world, closed):
    account = closed["account"]
    url = f"{base(world)}/accounts/{account.pk}/"
    api = client_for(world.admin)
    error = assert_error(
        api.patch(url, {"opening_balance": "150.00"}, format="json"), 409, "period_reconciled"
    )
    assert "opening_balance" in error["fields"]
    account.refresh_from_db()
    assert account.opening_balance == Decimal("100.00")
    renamed = api.patch(url, {"name": "Checking", "opening_balance": "100.00"}, format="json")
    assert renamed.status_code == 200, renamed.json()


@pytest.mark.django_db
def test_a_statement_inside_the_lock_date_is_not_reopened(world, closed):
    admin = client_for(world.admin)
    admin.put(f"{base(world)}/lock-date/", {"lock_date": "2026-02-28"}, format="json")
    response = admin.post(f"{base(world)}/statements/{closed['statement'].pk}/reopen/")
    error = assert_error(response, 409, "period_reconciled")
    assert "locked through 2026-02-28" in error["message"]
    assert Statement.objects.get(pk=closed["statement"].pk).status == "reconciled"
