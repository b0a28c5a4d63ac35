"""/payees/: created from manual entries and imports, renamed, given aliases, merged."""

from decimal import Decimal

import pytest

from kore.core.testing import assert_error, client_for
from kore.imports.services import import_job_create, import_job_run
from kore.imports.tests.conftest import upload
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.payees.models import Payee

CSV = (
    b"Date,Amount,Payee,Description\n"
    b"2024-03-01,-12.99,NETFLIX.COM,Subscription\n"
    b"2024-03-02,-4.50,SQ *BLUE BOTTLE COFFEE #123 OAKLAND CA,Coffee\n"
    b"2024-03-03,-3.90,Blue Bottle Coffee,Coffee\n"
)


def _url(world, suffix=""):
    return f"{base(world)}/payees/{suffix}"


def _tx(api, world, account, **extra):
    data = {"account": account.pk, "occurred_on": "2024-03-05", "amount": "-9.99", **extra}
    response = api.post(f"{base(world)}/transactions/", data, format="json")
    assert response.status_code == 201, response.json()
    return Transaction.objects.get(pk=response.json()["id"])


def _import(world, account, data=CSV):
    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    job = import_job_create(ctx=ctx, file=upload("bank.csv", data), account=account.pk)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done", job.error_message
    return job


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR")


def test_manual_entry_creates_the_payee_once(world, account):
    api = client_for(world.member)
    first = _tx(api, world, account, counterparty="Netflix")
    second = _tx(api, world, account, counterparty="NETFLIX")
    assert first.payee_id is not None
    assert first.payee_id == second.payee_id
    listed = api.get(_url(world)).json()["results"]
    assert [(p["name"], p["aliases"]) for p in listed] == [("Netflix", ["netflix"])]


def test_import_finds_payees_through_the_normaliser(world, account):
    _import(world, account)
    rows = {t.amount: t for t in Transaction.objects.filter(account=account)}
    coffee = {rows[key].payee_id for key in (Decimal("-4.50"), Decimal("-3.90"))}
    assert len(coffee) == 1  # the trailing city and id do not split it
    assert None not in coffee
    assert Payee.objects.filter(organization=world.org).count() == 2


def test_default_category_fills_a_new_transaction(world, account):
    api = client_for(world.member)
    food = CategoryFactory(organization=world.org, name="Coffee")
    created = api.post(
        _url(world), {"name": "Blue Bottle", "default_category": food.pk}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created["ETag"] == f'"{created.json()["id"]}-1"'
    tx = _tx(api, world, account, counterparty="BLUE BOTTLE")
    assert (tx.payee_id, tx.category_id) == (created.json()["id"], food.pk)
    explicit = _tx(api, world, account, counterparty="Blue Bottle", category=None)
    assert explicit.category_id is None  # what the user chose wins


def test_rename_and_aliases_with_etag(world):
    api = client_for(world.member)
    payee = api.post(_url(world), {"name": "Netflix"}, format="json").json()
    stale = f'"{payee["id"]}-0"'
    response = api.patch(
        _url(world, f"{payee['id']}/"), {"name": "Netflix Inc"}, format="json", HTTP_IF_MATCH=stale
    )
    assert_error(response, 412, "version_conflict")
    response = api.patch(
        _url(world, f"{payee['id']}/"),
        {"name": "Netflix Inc", "aliases": ["NETFLIX.COM"]},
        format="json",
        HTTP_IF_MATCH=f'"{payee["id"]}-1"',
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Netflix Inc"
    assert response.json()["aliases"] == ["netflix", "netflix inc"]


def test_merge_rewrites_references_and_later_imports_keep_it(world, account):
    api = client_for(world.member)
    _import(world, account)
    dotcom = Transaction.objects.get(account=account, amount=Decimal("-12.99")).payee_id
    kept = api.post(_url(world), {"name": "Streaming", "aliases": ["Netflix Inc"]}, format="json")
    kept_id = kept.json()["id"]
    merged = api.post(_url(world, f"{dotcom}/merge/"), {"into": kept_id}, format="json")
    assert merged.status_code == 200, merged.json()
    assert "netflix" in merged.json()["aliases"]
    assert not Payee.objects.filter(pk=dotcom).exists()
    assert Transaction.objects.get(account=account, amount=Decimal("-12.99")).payee_id == kept_id
    later = b"Date,Amount,Payee,Description\n2024-04-01,-12.99,Netflix.com,Subscription\n"
    _import(world, account, later)
    assert Transaction.objects.get(account=account, occurred_on="2024-04-01").payee_id == kept_id
    audit = client_for(world.admin).get(f"{base(world)}/audit/?object_type=transaction")
    audit = audit.json()["results"]
    assert any("payee" in entry["changes"] for entry in audit)


def test_merge_into_itself_is_422(world):
    api = client_for(world.member)
    payee = api.post(_url(world), {"name": "Netflix"}, format="json").json()
    response = api.post(_url(world, f"{payee['id']}/merge/"), {"into": payee["id"]}, format="json")
    assert_error(response, 422, "payee_merge_self")


def test_merge_with_another_organisations_payee_is_404(world):
    mine = client_for(world.member).post(_url(world), {"name": "Mine"}, format="json").json()
    theirs = Payee.objects.create(organization=world.other_org, name="Theirs")
    response = client_for(world.member).post(
        _url(world, f"{mine['id']}/merge/"), {"into": theirs.pk}, format="json"
    )
    assert_error(response, 404, "not_found")
    assert Payee.objects.filter(pk=mine["id"]).exists()


def test_alias_of_another_payee_is_409(world):
    api = client_for(world.member)
    api.post(_url(world), {"name": "Netflix"}, format="json")
    response = api.post(_url(world), {"name": "Streaming", "aliases": ["NETFLIX"]}, format="json")
    assert_error(response, 409, "payee_alias_taken")
    assert not Payee.objects.filter(name="Streaming").exists()


def test_default_category_of_another_organisation_is_invalid_reference(world):
    theirs = CategoryFactory(organization=world.other_org)
    response = client_for(world.member).post(
        _url(world), {"name": "X", "default_category": theirs.pk}, format="json"
    )
    assert_error(response, 422, "invalid_reference")


def test_viewer_cannot_create_and_outsider_sees_nothing(world):
    assert (
        client_for(world.viewer).post(_url(world), {"name": "X"}, format="json").status_code == 403
    )
    assert client_for(world.outsider).get(_url(world)).status_code == 404
    assert client_for(None).get(_url(world)).status_code == 401
