"""POST /statements/{id}/reconcile/: balance check, then reconciled transactions are locked."""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Statement, Transaction
from kore.ledger.services.state import ledger_version_bump
from kore.ledger.tests.factories import AccountFactory, base


def _tx(org, account, day, amount, status="cleared", **extra):
    return Transaction.objects.create(
        organization=org, account=account, occurred_on=day, amount=Decimal(amount),
        currency=account.currency, status=status, **extra,
    )  # fmt: skip


def _statement(org, account, closing, end=date(2026, 1, 31)):
    return Statement.objects.create(
        organization=org, account=account, end_date=end, closing_balance=Decimal(closing)
    )


def _url(world, statement):
    return f"{base(world)}/statements/{statement.pk}/reconcile/"


@pytest.fixture
def ledger(world):
    """Opening 100.00; counted: -20.00 and +5.50 (on the end date) → 85.50."""
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="100.00")
    other = AccountFactory(organization=world.org, currency="EUR")
    org = world.org
    txs = {
        "cleared": _tx(org, account, date(2026, 1, 5), "-20.00"),
        "on_end": _tx(org, account, date(2026, 1, 31), "5.50"),
        "pending": _tx(org, account, date(2026, 1, 10), "-3.00", status="pending"),
        "later": _tx(org, account, date(2026, 2, 1), "-7.00"),
        "deleted": _tx(org, account, date(2026, 1, 6), "-50.00", deleted_at=timezone.now()),
        "other_account": _tx(org, other, date(2026, 1, 6), "-40.00"),
    }
    return account, txs


def test_matching_balance_reconciles_counted_transactions_only(world, ledger):
    account, txs = ledger
    statement = _statement(world.org, account, "85.50")
    response = client_for(world.member).post(_url(world, statement))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "reconciled"
    assert response.json()["reconciled_at"] is not None
    assert response.json()["version"] == 2
    assert response["ETag"] == f'"{statement.pk}-2"'
    for name in ("cleared", "on_end"):
        txs[name].refresh_from_db()
        assert (txs[name].status, txs[name].statement_id) == ("reconciled", statement.pk)
        assert txs[name].version == 2
    for name in ("pending", "later", "deleted", "other_account"):
        before = txs[name].status
        txs[name].refresh_from_db()
        assert (txs[name].status, txs[name].statement_id) == (before, None), name
        assert txs[name].version == 1
    statement.refresh_from_db()
    assert statement.status == "reconciled"


def test_mismatch_is_422_with_the_difference_and_changes_nothing(world, ledger):
    account, txs = ledger
    statement = _statement(world.org, account, "80.00")
    response = client_for(world.member).post(_url(world, statement))
    error = assert_error(response, 422, "reconciliation_mismatch")
    assert "-5.50" in error["message"]
    detail = error["fields"]["closing_balance"][0]
    assert detail["code"] == "reconciliation_mismatch"
    assert "difference=-5.50" in detail["message"]
    assert "computed=85.50" in detail["message"]
    statement.refresh_from_db()
    assert statement.status == "open"
    assert not Transaction.objects.filter(status="reconciled").exists()


def test_pending_transactions_do_not_count_and_the_422_says_so(world, ledger):
    account, _ = ledger
    statement = _statement(world.org, account, "82.50")  # as if the pending -3.00 counted
    error = assert_error(
        client_for(world.member).post(_url(world, statement)), 422, "reconciliation_mismatch"
    )
    assert "only cleared transactions count" in error["message"]
    assert "1 uncleared transactions to that date total -3.00" in error["message"]
    assert "uncleared=1" in error["fields"]["closing_balance"][0]["message"]


def test_earlier_reconciled_transactions_still_count(world, ledger):
    account, txs = ledger
    january = _statement(world.org, account, "85.50")
    api = client_for(world.member)
    assert api.post(_url(world, january)).status_code == 200
    february = _statement(world.org, account, "78.50", end=date(2026, 2, 28))
    response = api.post(_url(world, february))
    assert response.status_code == 200, response.json()
    txs["later"].refresh_from_db()
    txs["cleared"].refresh_from_db()
    assert txs["later"].statement_id == february.pk
    assert txs["cleared"].statement_id == january.pk  # stays with its own statement


def test_reconciled_transactions_are_locked(world, ledger):
    account, txs = ledger
    statement = _statement(world.org, account, "85.50")
    api = client_for(world.admin)
    assert api.post(_url(world, statement)).status_code == 200
    tx_url = f"{base(world)}/transactions/{txs['cleared'].pk}/"
    assert_error(api.patch(tx_url, {"description": "x"}, format="json"), 409, "transaction_locked")
    assert_error(api.delete(tx_url), 409, "transaction_locked")
    txs["cleared"].refresh_from_db()
    assert txs["cleared"].deleted_at is None
    # The pending one inside the period is closed too (see test_closed_periods); later rows
    # stay editable.
    pending = f"{base(world)}/transactions/{txs['pending'].pk}/"
    assert_error(api.patch(pending, {"description": "x"}, format="json"), 409, "period_reconciled")
    later = f"{base(world)}/transactions/{txs['later'].pk}/"
    assert api.patch(later, {"description": "fine"}, format="json").status_code == 200


def test_a_transfer_with_a_reconciled_leg_cannot_be_deleted(world):
    source = AccountFactory(organization=world.org, currency="EUR")
    target = AccountFactory(organization=world.org, currency="EUR")
    api = client_for(world.member)
    body = api.post(
        f"{base(world)}/transfers/",
        {"from_account": source.pk, "to_account": target.pk, "amount": "10.00",
         "occurred_on": "2026-01-03"},
        format="json",
    ).json()  # fmt: skip
    legs = {leg["account"]: leg["id"] for leg in body["legs"]}
    Transaction.objects.filter(pk__in=legs.values()).update(status="cleared")
    statement = _statement(world.org, source, "-10.00")
    assert api.post(_url(world, statement)).status_code == 200
    response = api.delete(f"{base(world)}/transactions/{legs[target.pk]}/")
    assert_error(response, 409, "transaction_locked")
    assert not Transaction.objects.filter(pk__in=legs.values(), deleted_at__isnull=False).exists()


def test_already_reconciled_is_409(world, ledger):
    statement = _statement(world.org, ledger[0], "85.50")
    api = client_for(world.member)
    assert api.post(_url(world, statement)).status_code == 200
    assert_error(api.post(_url(world, statement)), 409, "statement_reconciled")


def test_stale_if_match_is_412(world, ledger):
    statement = _statement(world.org, ledger[0], "85.50")
    response = client_for(world.member).post(
        _url(world, statement), HTTP_IF_MATCH=f'"{statement.pk}-5"'
    )
    assert_error(response, 412, "version_conflict")
    statement.refresh_from_db()
    assert statement.status == "open"
    ok = client_for(world.member).post(_url(world, statement), HTTP_IF_MATCH=f'"{statement.pk}-1"')
    assert ok.status_code == 200


def test_missing_statement_is_404(world):
    response = client_for(world.member).post(f"{base(world)}/statements/999999999/reconcile/")
    assert_error(response, 404, "not_found")


def test_viewer_cannot_reconcile(world, ledger):
    statement = _statement(world.org, ledger[0], "85.50")
    assert_error(client_for(world.viewer).post(_url(world, statement)), 403, "permission_denied")
    statement.refresh_from_db()
    assert statement.status == "open"


def test_unauthenticated_is_401(world, ledger):
    statement = _statement(world.org, ledger[0], "85.50")
    assert_error(client_for(None).post(_url(world, statement)), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_wrong_method_is_405(world, ledger, method):
    statement = _statement(world.org, ledger[0], "85.50")
    response = getattr(client_for(world.admin), method)(_url(world, statement))
    assert_error(response, 405, "method_not_allowed")


def test_other_organisation_is_404(world, ledger):
    statement = _statement(world.org, ledger[0], "85.50")
    assert_other_org_is_404(world.outsider, "post", _url(world, statement))
    path = f"/api/v1/orgs/{world.other_org.slug}/statements/{statement.pk}/reconcile/"
    assert_other_org_is_404(world.outsider, "post", path)
    statement.refresh_from_db()
    assert statement.status == "open"


def _wait_for_a_blocked_backend(seconds=5.0):
    """Until some backend waits on a row lock (the reconcile queued behind the writer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("the reconcile never waited for the ledger lock")


@pytest.mark.django_db(transaction=True)
def test_reconcile_sees_a_change_committed_while_it_waited_for_the_ledger_lock(world):
    """A writer holding the organisation's ledger lock changes an amount; a reconcile that starts
    meanwhile must judge the committed amount, not the one it read before the writer finished."""
    account = AccountFactory(organization=world.org, currency="EUR")
    tx = _tx(world.org, account, date(2026, 1, 5), "-10.00")
    statement = _statement(world.org, account, "-10.00")
    locked, release = threading.Event(), threading.Event()

    def writer():
        try:
            with db_transaction.atomic():
                ledger_version_bump(organization=world.org)
                Transaction.objects.filter(pk=tx.pk).update(amount=Decimal("-12.00"))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(10)
    result = {}

    def reconcile():
        try:
            result["response"] = client_for(world.member).post(_url(world, statement))
        finally:
            connection.close()

    reconciler = threading.Thread(target=reconcile)
    reconciler.start()
    _wait_for_a_blocked_backend()
    release.set()
    thread.join(10)
    reconciler.join(10)
    assert_error(result["response"], 422, "reconciliation_mismatch")
    tx.refresh_from_db()
    assert tx.status == "cleared"
