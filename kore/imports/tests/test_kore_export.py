"""Kore's CSV export imported back: split lines, transfers and rates come back as they were, and
what cannot come back exactly is refused with nothing written."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kore.core.exceptions import KoreError
from kore.core.testing import assert_error, client_for
from kore.exports.services import csv_stream
from kore.imports.kore_export import kore_export_import
from kore.imports.models import ImportJob
from kore.imports.services import import_job_create, import_job_run
from kore.ledger.models import Account, Category, Transaction
from kore.ledger.services.transactions import transaction_create
from kore.ledger.services.transfers import transfer_create
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.ledger.transaction_list import TransactionFilter
from kore.orgs.models import Organization, Role
from kore.orgs.scoping import OrgContext

pytestmark = pytest.mark.django_db

D = Decimal


def _ctx(org: Organization, user: Any) -> OrgContext:
    return OrgContext(org, Role.OWNER, user, None)


def _books(world: Any) -> None:
    """Plain rows, a row split over two categories, an income row and two transfers."""
    ctx = _ctx(world.org, world.owner)
    main = AccountFactory(organization=world.org, name="Main", currency="EUR")
    card = AccountFactory(organization=world.org, name="Travel card", currency="USD")
    savings = AccountFactory(organization=world.org, name="Savings", currency="EUR")
    food = CategoryFactory(organization=world.org, name="Food")
    home = CategoryFactory(organization=world.org, name="Household")
    salary = CategoryFactory(organization=world.org, name="Salary", kind=Category.Kind.INCOME)
    transaction_create(
        ctx=ctx, account=main.pk, occurred_on=date(2026, 3, 2), amount=D("-25.40"),
        description="Market", counterparty="Halle", category=food.pk, reference="R-1",
        notes="weekly", status="cleared", tags=["home", "weekly"],
    )  # fmt: skip
    transaction_create(
        ctx=ctx, account=main.pk, occurred_on=date(2026, 3, 3), amount=D("-85.40"),
        description="Supermarket", status="pending",
        splits=[
            {"category": food.pk, "amount": D("-60.00"), "memo": "groceries"},
            {"category": home.pk, "amount": D("-25.40"), "memo": "soap, \"bulbs\""},
        ],
    )  # fmt: skip
    transaction_create(
        ctx=ctx, account=main.pk, occurred_on=date(2026, 3, 1), amount=D("2500.00"),
        description="March pay", category=salary.pk,
    )  # fmt: skip
    transaction_create(
        ctx=ctx, account=card.pk, occurred_on=date(2026, 3, 5), amount=D("-12.99"),
        description="Taxi",
    )  # fmt: skip
    transfer_create(
        ctx=ctx, from_account=main.pk, to_account=card.pk, amount=D("100.00"),
        to_amount=D("108.37"), occurred_on=date(2026, 3, 4), description="Dollars for the trip",
    )  # fmt: skip
    transfer_create(
        ctx=ctx, from_account=main.pk, to_account=savings.pk, amount=D("300.00"),
        occurred_on=date(2026, 3, 6), description="Put aside",
    )  # fmt: skip


def _export(org: Organization) -> bytes:
    return b"".join(csv_stream(organization=org, filters=TransactionFilter()))


def _snapshot(org: Organization) -> list[tuple[Any, ...]]:
    """Every live transaction as a user sees it, ids left out."""
    rows = []
    txs = Transaction.objects.filter(organization=org, deleted_at__isnull=True).select_related(
        "account", "category", "transfer"
    )
    for tx in txs.prefetch_related("splits__category", "tags", "transfer__legs__account"):
        other = ""
        if tx.transfer is not None:
            other = next(leg.account.name for leg in tx.transfer.legs.all() if leg.pk != tx.pk)
        rows.append((
            tx.account.name, tx.occurred_on, tx.amount, tx.currency, tx.description,
            tx.counterparty, tx.category.name if tx.category else None, tx.reference, tx.notes,
            tx.status, sorted(t.name for t in tx.tags.all()),
            sorted((s.category.name if s.category else None, s.amount, s.memo)
                   for s in tx.splits.all()),
            other, tx.transfer.rate if tx.transfer else None,
        ))  # fmt: skip
    return sorted(rows, key=repr)


def test_export_imported_into_an_empty_organisation_gives_the_same_books(world):
    _books(world)
    before = _snapshot(world.org)
    done = kore_export_import(ctx=_ctx(world.other_org, world.outsider), content=_export(world.org))
    assert (done.transactions, done.transfers) == (8, 2)
    assert sorted(done.accounts_created) == ["Main", "Savings", "Travel card"]
    after = _snapshot(world.other_org)
    assert after == before
    assert all(isinstance(row[2], Decimal) for row in after)
    amounts = {(row[0], row[4]): row[2] for row in after}
    assert amounts[("Travel card", "Dollars for the trip")] == D("108.37")
    rates = {row[13] for row in after if row[13] is not None}
    assert rates == {D("1.0837"), D("1")}
    kinds = dict(Category.objects.filter(organization=world.other_org).values_list("name", "kind"))
    assert kinds == {"Food": "expense", "Household": "expense", "Salary": "income"}


def test_export_imported_through_the_api(world):
    _books(world)
    response = client_for(world.outsider).post(
        f"/api/v1/orgs/{world.other_org.slug}/imports/kore-export/",
        {"file": SimpleUploadedFile("export.csv", _export(world.org))},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["transfers"] == 2
    assert _snapshot(world.other_org) == _snapshot(world.org)


def test_api_needs_an_admin_and_hides_other_organisations(world):
    url = f"/api/v1/orgs/{world.org.slug}/imports/kore-export/"
    body = {"file": SimpleUploadedFile("export.csv", b"id\n")}
    assert_error(client_for(world.member).post(url, body, format="multipart"), 403)
    body = {"file": SimpleUploadedFile("export.csv", b"id\n")}
    assert_error(client_for(world.outsider).post(url, body, format="multipart"), 404)


def test_a_transfer_with_one_leg_in_the_file_is_refused_and_nothing_written(world):
    _books(world)
    one_account = b"".join(
        csv_stream(
            organization=world.org,
            filters=TransactionFilter(account=Account.objects.get(name="Main").pk),
        )
    )
    response = client_for(world.outsider).post(
        f"/api/v1/orgs/{world.other_org.slug}/imports/kore-export/",
        {"file": SimpleUploadedFile("export.csv", one_account)},
        format="multipart",
    )
    body = assert_error(response, 422, "kore_csv_transfer_incomplete")
    assert any(name.endswith(".transfer") for name in body["fields"])
    assert not Transaction.objects.filter(organization=world.other_org).exists()
    assert not Account.objects.filter(organization=world.other_org).exists()


def test_a_rate_that_disagrees_with_its_legs_is_refused(world):
    _books(world)
    text = _export(world.org).decode("utf-8-sig").replace(",1.0837\r\n", ",1.2\r\n", 1)
    with pytest.raises(KoreError) as caught:
        kore_export_import(ctx=_ctx(world.other_org, world.outsider), content=text.encode())
    assert caught.value.code == "kore_csv_rate_mismatch"
    assert not Transaction.objects.filter(organization=world.other_org).exists()


def test_a_second_import_into_the_same_accounts_is_refused(world):
    _books(world)
    ctx = _ctx(world.other_org, world.outsider)
    kore_export_import(ctx=ctx, content=_export(world.org))
    with pytest.raises(KoreError) as caught:
        kore_export_import(ctx=ctx, content=_export(world.org))
    assert caught.value.code == "kore_csv_accounts_in_use"
    assert Transaction.objects.filter(organization=world.other_org).count() == 8


def test_a_file_that_is_not_the_export_is_refused(world):
    with pytest.raises(KoreError) as caught:
        kore_export_import(
            ctx=_ctx(world.other_org, world.outsider), content=b"date,amount\n2026-01-01,1.00\n"
        )
    assert caught.value.code == "kore_csv_invalid"


def test_bank_import_of_the_export_refuses_split_and_transfer_rows_instead_of_flattening(
    world, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    _books(world)
    main = Account.objects.get(organization=world.org, name="Main")
    target = AccountFactory(organization=world.org, name="Copy", currency="EUR")
    body = b"".join(csv_stream(organization=world.org, filters=TransactionFilter(account=main.pk)))
    job = import_job_create(
        ctx=_ctx(world.org, world.owner), file=SimpleUploadedFile("export.csv", body),
        account=target.pk, format="csv", enqueue=False,
        mapping={"date": "date", "amount": "amount", "description": "description",
                 "date_format": "%Y-%m-%d", "decimal": "."},
    )  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (ImportJob.Status.FAILED, "import_rows_invalid")
    refused = sorted((e["column"], e["code"]) for e in job.errors)
    assert refused == [("splits", "kore_structure_not_kept")] + 2 * [
        ("transfer", "kore_structure_not_kept")
    ]
    assert not Transaction.objects.filter(account=target).exists()
