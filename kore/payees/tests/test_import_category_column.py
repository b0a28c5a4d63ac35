"""A CSV import maps a category column: names found in the organisation win over rules; a name
that finds no category, or several, is a row error."""

import pytest

from kore.imports.services import import_job_create, import_job_run
from kore.imports.tests.conftest import upload
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.payees.services_rules import rule_create

pytestmark = pytest.mark.django_db
MAPPING = {
    "date": "Date", "amount": "Amount", "description": "Description", "category": "Kategorie",
    "date_format": "%Y-%m-%d",
}  # fmt: skip


def _import(world, account, data, **options):
    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    job = import_job_create(ctx=ctx, file=upload("bank.csv", data), account=account.pk,
                            format="csv", mapping=MAPPING, **options)  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_the_files_category_is_booked_and_wins_over_rules(world):
    account = AccountFactory(organization=world.org)
    food = CategoryFactory(organization=world.org, name="Food")
    home = CategoryFactory(organization=world.org, name="Home")
    groceries = CategoryFactory(organization=world.org, name="Groceries", parent=food)
    CategoryFactory(organization=world.org, name="Groceries", parent=home)
    rule_create(ctx=OrgContext(world.org, Role.OWNER, world.owner, None), name="all",
                conditions=[{"field": "description", "op": "contains", "value": "shop"}],
                actions={"category": home.pk})  # fmt: skip
    data = (
        b"Date,Amount,Description,Kategorie\n"
        b"2024-03-01,-5.00,shop one,food\n"
        b"2024-03-02,-6.00,shop two,Food : Groceries\n"
        b"2024-03-03,-7.00,shop three,\n"
    )
    job = _import(world, account, data)
    assert (job.status, job.created_count) == ("done", 3), job.errors
    got = dict(Transaction.objects.filter(account=account).values_list("description", "category"))
    assert got == {"shop one": food.pk, "shop two": groceries.pk, "shop three": home.pk}


def test_unknown_and_ambiguous_names_are_row_errors(world):
    account = AccountFactory(organization=world.org)
    CategoryFactory(
        organization=world.org, name="Groceries", parent=CategoryFactory(organization=world.org)
    )
    CategoryFactory(
        organization=world.org, name="Groceries", parent=CategoryFactory(organization=world.org)
    )
    data = (
        b"Date,Amount,Description,Kategorie\n"
        b"2024-03-01,-5.00,a,Nowhere\n"
        b"2024-03-02,-6.00,b,Groceries\n"
    )
    job = _import(world, account, data)
    assert job.status == "failed"
    assert [(e["line"], e["code"]) for e in job.errors] == [
        (2, "category_unknown"), (3, "category_ambiguous"),
    ]  # fmt: skip
    assert not Transaction.objects.filter(account=account).exists()
