"""kore.ledger.services.transactions called directly: writes, versions, tombstones and purge."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kore.core.exceptions import Conflict, NotFound, PreconditionFailed, RuleViolation
from kore.ledger.models import LedgerState, Split, Transaction, Transfer
from kore.ledger.services.transactions import (
    BatchRejected,
    transaction_create,
    transaction_create_many,
    transaction_delete,
    transaction_restore,
    transaction_update,
    transactions_purge_deleted,
)
from kore.ledger.tests.factories import AccountFactory
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext

from .factories_tx import TransactionFactory


@pytest.fixture
def ctx(world):
    return OrgContext(world.org, Role.MEMBER, world.member, None)


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR")


def _row(account, **extra):
    return {
        "account": account.pk,
        "occurred_on": date(2026, 1, 15),
        "amount": Decimal("-5.00"),
    } | extra


def _version(world):
    return LedgerState.objects.get(organization=world.org).version


def test_create_bumps_the_ledger_version_and_stamps_change_seq(world, ctx, account):
    first = transaction_create(ctx=ctx, **_row(account))
    second = transaction_create(ctx=ctx, **_row(account, tags=[" a ", "a", "b"]))
    assert (first.change_seq, second.change_seq) == (1, 2)
    assert _version(world) == 2
    assert sorted(second.tags.values_list("name", flat=True)) == ["a", "b"]
    assert first.history.count() == 1


def test_create_rejects_rule_breaks_without_writing(world, ctx, account):
    with pytest.raises(RuleViolation) as exc:
        transaction_create(
            ctx=ctx,
            **_row(account, amount=Decimal("-5.001"), splits=[{"amount": Decimal("1.001")}]),
        )
    assert set(exc.value.fields) == {"amount", "splits.0.amount", "splits"}
    assert not Transaction.objects.exists()
    assert not LedgerState.objects.filter(organization=world.org, version__gt=0).exists()


def test_create_many_is_all_or_nothing(world, ctx, account):
    rows = [_row(account), _row(account, status="reconciled"), _row(account)]
    with pytest.raises(BatchRejected) as exc:
        transaction_create_many(ctx=ctx, rows=rows)
    assert exc.value.status_code == 422
    assert list(exc.value.fields) == ["items.1.status"]
    assert exc.value.row_errors[0]["index"] == 1
    assert not Transaction.objects.exists()
    created = transaction_create_many(ctx=ctx, rows=[_row(account), _row(account)])
    assert len(created) == 2
    assert {t.change_seq for t in created} == {_version(world)}
    assert all(t.history.count() == 1 for t in created)


def test_create_many_refuses_more_than_1000(ctx, account):
    with pytest.raises(RuleViolation) as exc:
        transaction_create_many(ctx=ctx, rows=[_row(account)] * 1001)
    assert exc.value.code == "batch_too_large"
    assert not Transaction.objects.exists()


def test_update_checks_the_version_and_bumps_it(world, ctx, account):
    tx = transaction_create(ctx=ctx, **_row(account))
    with pytest.raises(PreconditionFailed) as exc:
        transaction_update(ctx=ctx, tx_id=tx.pk, if_match=f'"{tx.pk}-7"', description="x")
    assert exc.value.code == "version_conflict"
    updated = transaction_update(ctx=ctx, tx_id=tx.pk, if_match=f'"{tx.pk}-1"', description="x")
    assert (updated.version, updated.description, updated.change_seq) == (2, "x", 2)
    assert Transaction.objects.get(pk=tx.pk).description == "x"


def test_update_of_another_orgs_transaction_is_not_found(world, ctx):
    foreign = TransactionFactory(account=AccountFactory(organization=world.other_org))
    with pytest.raises(NotFound):
        transaction_update(ctx=ctx, tx_id=foreign.pk, description="x")
    with pytest.raises(NotFound):
        transaction_delete(ctx=ctx, tx_id=foreign.pk)


def test_transfer_legs_cannot_change_amount_or_account(world, ctx, account):
    other = AccountFactory(organization=world.org)
    transfer = Transfer.objects.create(organization=world.org, rate=Decimal(1))
    leg = TransactionFactory(account=account, transfer=transfer)
    with pytest.raises(Conflict) as exc:
        transaction_update(ctx=ctx, tx_id=leg.pk, amount=Decimal("-1.00"))
    assert exc.value.code == "transfer_leg"
    with pytest.raises(Conflict):
        transaction_update(ctx=ctx, tx_id=leg.pk, account=other.pk)
    assert transaction_update(ctx=ctx, tx_id=leg.pk, description="ok").description == "ok"


def test_deleting_one_transfer_leg_deletes_both_and_restore_brings_both_back(world, ctx, account):
    other = AccountFactory(organization=world.org)
    transfer = Transfer.objects.create(organization=world.org, rate=Decimal(1))
    out_leg = TransactionFactory(account=account, transfer=transfer, amount=Decimal("-5.00"))
    in_leg = TransactionFactory(account=other, transfer=transfer, amount=Decimal("5.00"))
    unrelated = TransactionFactory(account=account)
    transaction_delete(ctx=ctx, tx_id=out_leg.pk)
    tombstones = Transaction.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True)
    assert set(tombstones) == {out_leg.pk, in_leg.pk}
    assert Transaction.objects.get(pk=unrelated.pk).deleted_at is None
    restored = transaction_restore(ctx=ctx, tx_id=in_leg.pk)
    assert restored.deleted_at is None
    assert not Transaction.objects.filter(deleted_at__isnull=False).exists()


def test_delete_and_restore_bump_versions_and_change_seq(world, ctx, account):
    tx = transaction_create(ctx=ctx, **_row(account))
    transaction_delete(ctx=ctx, tx_id=tx.pk, if_match=f'"{tx.pk}-1"')
    deleted = Transaction.objects.get(pk=tx.pk)
    assert (deleted.version, deleted.change_seq) == (2, 2)
    with pytest.raises(NotFound):
        transaction_delete(ctx=ctx, tx_id=tx.pk)
    restored = transaction_restore(ctx=ctx, tx_id=tx.pk)
    assert (restored.version, restored.change_seq, restored.deleted_at) == (3, 3, None)
    with pytest.raises(NotFound):
        transaction_restore(ctx=ctx, tx_id=tx.pk)


def test_purge_removes_tombstones_older_than_30_days_only(world, ctx, account):
    now = timezone.now()
    old = transaction_create(
        ctx=ctx, **_row(account, tags=["t"], splits=[{"amount": Decimal("-5.00")}])
    )
    recent = transaction_create(ctx=ctx, **_row(account))
    edge = transaction_create(ctx=ctx, **_row(account))
    live = transaction_create(ctx=ctx, **_row(account))
    foreign_old = TransactionFactory(
        account=AccountFactory(organization=world.other_org),
        deleted_at=now - timedelta(days=45),
        change_seq=9,
    )
    for tx in (old, recent, edge):
        transaction_delete(ctx=ctx, tx_id=tx.pk)
    Transaction.objects.filter(pk=old.pk).update(deleted_at=now - timedelta(days=31))
    Transaction.objects.filter(pk=recent.pk).update(deleted_at=now - timedelta(days=29))
    Transaction.objects.filter(pk=edge.pk).update(deleted_at=now - timedelta(days=30, minutes=-5))
    old_seq = Transaction.objects.get(pk=old.pk).change_seq

    assert transactions_purge_deleted() == 2
    remaining = set(Transaction.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, edge.pk, live.pk}
    assert foreign_old.pk not in remaining
    assert not Split.objects.filter(transaction_id=old.pk).exists()
    assert not Transaction.tags.through.objects.filter(transaction_id=old.pk).exists()
    assert LedgerState.objects.get(organization=world.org).purged_through == old_seq
    assert LedgerState.objects.get(organization=world.other_org).purged_through == 9
    # Running again finds nothing more; the recent one can still be restored.
    assert transactions_purge_deleted() == 0
    assert transaction_restore(ctx=ctx, tx_id=recent.pk).deleted_at is None


def test_purge_with_a_shorter_retention(world, ctx, account):
    tx = transaction_create(ctx=ctx, **_row(account))
    transaction_delete(ctx=ctx, tx_id=tx.pk)
    Transaction.objects.filter(pk=tx.pk).update(deleted_at=timezone.now() - timedelta(days=2))
    assert transactions_purge_deleted(older_than_days=30) == 0
    assert transactions_purge_deleted(older_than_days=1) == 1
    assert not Transaction.objects.exists()
