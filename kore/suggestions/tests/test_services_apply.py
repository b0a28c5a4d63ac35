"""The audit rows of applied suggestions and their ``AppliedSuggestion`` rows: the set-based
PostgreSQL path writes what simple-history's bulk helper and the ORM write."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from kore.imports.models import ImportJob
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.suggestions.engine import Suggestion
from kore.suggestions.models import AppliedSuggestion
from kore.suggestions.services import (
    CHANGE_REASON,
    _categories_set,
    _categories_set_orm,
    applied_record,
    history_record,
)

from .helpers import uncategorised

pytestmark = pytest.mark.django_db

_IGNORED = {"history_id", "id", "created_at", "updated_at"}


def _latest(tx_id: int) -> dict:
    record = Transaction.history.filter(id=tx_id).order_by("-history_id").first()
    return {k: v for k, v in model_to_dict(record).items() if k not in _IGNORED}


def test_both_paths_write_the_same_audit_rows(world):
    account = AccountFactory(organization=world.org)
    category = CategoryFactory(organization=world.org)
    rows = [uncategorised(account, "NETFLIX.COM") for _ in range(2)]
    Transaction.objects.filter(pk__in=[r.pk for r in rows]).update(category=category, version=2)
    now = timezone.now()
    history_record(ids=[rows[0].pk], user=world.member, now=now, set_based=True)
    history_record(ids=[rows[1].pk], user=world.member, now=now, set_based=False)
    set_based, helper = _latest(rows[0].pk), _latest(rows[1].pk)
    assert set_based == helper
    assert (set_based["history_type"], set_based["history_change_reason"]) == ("~", CHANGE_REASON)
    assert (set_based["category"], set_based["history_user"]) == (category.pk, world.member.pk)


def test_both_paths_write_the_same_applied_suggestions(world):
    account = AccountFactory(organization=world.org)
    first, second = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    job = ImportJob.objects.create(
        organization=world.org, account=account, created_by=world.member, status="done",
        file_path="imports/x", original_name="rows.csv", size=1, format="csv",
    )  # fmt: skip
    rows = [uncategorised(account, "NETFLIX.COM") for _ in range(2)]
    found = [Suggestion(first.pk, 0.9137), Suggestion(second.pk, 0.0512)]
    now = timezone.now()
    applied_record(job=job, chosen={rows[0].pk: found}, now=now, set_based=True)
    applied_record(job=job, chosen={rows[1].pk: found}, now=now, set_based=False)
    set_based, helper = (
        {k: v for k, v in model_to_dict(AppliedSuggestion.objects.get(transaction=r)).items()
         if k not in {"id", "transaction"}}
        for r in rows
    )  # fmt: skip
    assert set_based == helper
    assert (set_based["how"], set_based["confidence"], set_based["import_job"]) == (
        "auto", Decimal("0.914"), job.pk,
    )  # fmt: skip
    assert set_based["suggested"] == [
        {"category": first.pk, "confidence": "0.914"},
        {"category": second.pk, "confidence": "0.051"},
    ]


@pytest.mark.parametrize("set_based", [True, False])
def test_a_suggestion_sets_only_rows_still_uncategorised_and_open(world, set_based):
    account = AccountFactory(organization=world.org)
    mine, theirs = CategoryFactory(organization=world.org), CategoryFactory(organization=world.org)
    open_row, taken, reconciled = (uncategorised(account, "NETFLIX.COM") for _ in range(3))
    Transaction.objects.filter(pk=taken.pk).update(category=theirs)
    Transaction.objects.filter(pk=reconciled.pk).update(status=Transaction.Status.RECONCILED)
    found = [Suggestion(mine.pk, 0.9)]
    chosen = {open_row.pk: found, taken.pk: found, reconciled.pk: found}
    write = _categories_set if set_based else _categories_set_orm
    assert write(chosen, 41, timezone.now()) == [open_row.pk]
    rows = {t.pk: t for t in Transaction.objects.filter(account=account)}
    assert (rows[open_row.pk].category_id, rows[open_row.pk].change_seq) == (mine.pk, 41)
    assert rows[open_row.pk].version == open_row.version + 1
    assert (rows[taken.pk].category_id, rows[reconciled.pk].category_id) == (theirs.pk, None)
