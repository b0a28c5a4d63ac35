"""GET /transfers/, GET/PATCH/DELETE /transfers/{id}/: a transfer is read and corrected as one
thing (both legs at once, audited, versioned), and its legs take no income or expense category."""

from datetime import date
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Category, Transaction, Transfer
from kore.ledger.tests.factories import AccountFactory, CategoryFactory, base
from kore.web.tests.helpers import browser


def _create(api, source, target, amount="10.00", **extra):
    body = {"from_account": source.pk, "to_account": target.pk, "amount": amount,
            "occurred_on": "2026-03-01", **extra}  # fmt: skip
    slug = source.organization.slug
    response = api.post(f"/api/v1/orgs/{slug}/transfers/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def api(world):
    return client_for(world.member)


@pytest.fixture
def eur(world):
    return (
        AccountFactory(organization=world.org, name="Checking", currency="EUR"),
        AccountFactory(organization=world.org, name="Savings", currency="EUR"),
    )


@pytest.fixture
def cross(world):
    return (
        AccountFactory(organization=world.org, name="Euro", currency="EUR"),
        AccountFactory(organization=world.org, name="Dollar", currency="USD"),
    )


def _url(world, transfer_id=None):
    return f"{base(world)}/transfers/" + (f"{transfer_id}/" if transfer_id else "")


def _legs(transfer_id):
    return {
        t.account_id: t for t in Transaction.objects.filter(transfer_id=transfer_id).order_by("id")
    }


# --- Reading -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_transfer_reads_as_one_thing_with_both_legs(world, api, eur):
    source, target = eur
    created = _create(api, source, target, "25.50", description="Rent pot")
    response = api.get(_url(world, created["id"]))
    assert response.status_code == 200
    body = response.json()
    assert response["ETag"] == body["etag"] == f'"{created["id"]}-1"'
    assert (body["from_account"], body["to_account"]) == (source.pk, target.pk)
    assert (body["amount"], body["to_amount"], body["rate"]) == ("25.50", "25.50", "1")
    assert (body["occurred_on"], body["description"]) == ("2026-03-01", "Rent pot")
    assert [leg["amount"] for leg in body["legs"]] == ["-25.50", "25.50"]
    assert body == created


@pytest.mark.django_db
def test_the_list_is_newest_first_with_a_cursor_and_skips_deleted_transfers(world, api, eur):
    ids = [_create(api, *eur, f"{n}.00")["id"] for n in (1, 2, 3)]
    api.delete(_url(world, ids[1]))
    first = api.get(_url(world), {"limit": 1}).json()
    assert [t["id"] for t in first["results"]] == [ids[2]]
    second = api.get(_url(world), {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [t["id"] for t in second["results"]] == [ids[0]]
    assert second["next_cursor"] is None


@pytest.mark.django_db
def test_a_forged_cursor_is_a_400(world, api):
    assert_error(api.get(_url(world), {"cursor": "nope"}), 400, "invalid_cursor")


@pytest.mark.django_db
def test_other_organisations_transfers_are_404_and_not_listed(world, api, eur):
    created = _create(api, *eur)
    for method in ("get", "patch", "delete"):
        assert_other_org_is_404(world.outsider, method, _url(world, created["id"]), {})
    assert (
        client_for(world.outsider)
        .get(f"/api/v1/orgs/{world.other_org.slug}/transfers/")
        .json()["results"]
        == []
    )


# --- Correcting ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_patch_corrects_amount_date_and_description_on_both_legs(world, api, eur):
    source, target = eur
    created = _create(api, source, target, "10.00")
    response = api.patch(
        _url(world, created["id"]),
        {"amount": "12.34", "occurred_on": "2026-03-05", "description": "Fixed"},
        format="json",
        HTTP_IF_MATCH=created["etag"],
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["amount"], body["to_amount"], body["version"]) == ("12.34", "12.34", 2)
    assert response["ETag"] == f'"{created["id"]}-2"'
    legs = _legs(created["id"])
    assert (legs[source.pk].amount, legs[target.pk].amount) == (Decimal("-12.34"), Decimal("12.34"))
    assert {(t.occurred_on, t.description, t.version) for t in legs.values()} == {
        (date(2026, 3, 5), "Fixed", 2)
    }
    # The same ids: corrected in place, not deleted and recreated.
    assert sorted(t.pk for t in legs.values()) == sorted(leg["id"] for leg in created["legs"])
    # Audited: each leg's change, and the transfer's own version.
    for leg in legs.values():
        changed = Transaction.history.filter(id=leg.pk, history_type="~").get()
        assert (changed.amount, changed.history_user_id) == (leg.amount, world.member.pk)
    assert Transfer.history.filter(id=created["id"]).count() == 2


@pytest.mark.django_db
def test_a_stale_etag_changes_nothing(world, api, eur):
    created = _create(api, *eur)
    api.patch(_url(world, created["id"]), {"description": "first"}, format="json")
    response = api.patch(
        _url(world, created["id"]), {"amount": "99.00"}, format="json",
        HTTP_IF_MATCH=created["etag"],
    )  # fmt: skip
    assert_error(response, 412, "version_conflict")
    assert_error(
        api.delete(_url(world, created["id"]), HTTP_IF_MATCH=created["etag"]),
        412,
        "version_conflict",
    )
    assert {t.amount.copy_abs() for t in _legs(created["id"]).values()} == {Decimal("10.00")}


@pytest.mark.django_db
def test_across_currencies_to_amount_or_an_exact_rate_sets_the_arriving_leg(world, api, cross):
    source, target = cross
    created = _create(api, source, target, "100.00", to_amount="108.00")
    body = api.patch(_url(world, created["id"]), {"to_amount": "110.00"}, format="json").json()
    assert (body["amount"], body["to_amount"], body["rate"]) == ("100.00", "110.00", "1.1")
    body = api.patch(
        _url(world, created["id"]), {"amount": "200.00", "rate": "1.25"}, format="json"
    ).json()
    assert (body["amount"], body["to_amount"], body["rate"]) == ("200.00", "250.00", "1.25")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"amount": "50.00"}, "to_amount", "to_amount_required"),
        ({"rate": "1.08345"}, "rate", "rate_inexact"),
        ({"rate": "1.1", "to_amount": "110.00"}, "rate", "rate_or_to_amount"),
        ({"amount": "0.00", "to_amount": "1.00"}, "amount", "amount_not_positive"),
        ({"to_amount": "1.001"}, "to_amount", "amount_precision"),
    ],
)
@pytest.mark.django_db
def test_an_ambiguous_or_impossible_correction_is_refused(world, api, cross, change, field, code):
    created = _create(api, *cross, "100.00", to_amount="108.00")
    response = api.patch(_url(world, created["id"]), change, format="json")
    error = assert_error(response, 422)
    assert error["fields"][field][0]["code"] == code
    legs = _legs(created["id"])
    assert sorted(t.amount for t in legs.values()) == [Decimal("-100.00"), Decimal("108.00")]


@pytest.mark.django_db
def test_same_currency_rate_other_than_one_is_refused(world, api, eur):
    created = _create(api, *eur)
    error = assert_error(api.patch(_url(world, created["id"]), {"rate": "2"}, format="json"), 422)
    assert error["fields"]["rate"][0]["code"] == "rate_mismatch"


@pytest.mark.django_db
def test_a_money_number_is_a_400(world, api, eur):
    created = _create(api, *eur)
    assert_error(api.patch(_url(world, created["id"]), {"amount": 5}, format="json"), 400)


@pytest.mark.django_db
def test_a_reconciled_leg_locks_the_transfer(world, api, eur):
    created = _create(api, *eur)
    Transaction.objects.filter(transfer_id=created["id"]).update(status="reconciled")
    for response in (
        api.patch(_url(world, created["id"]), {"description": "x"}, format="json"),
        api.delete(_url(world, created["id"])),
    ):
        assert_error(response, 409, "transaction_locked")


@pytest.mark.django_db
def test_a_lock_date_closes_the_transfer(world, api, eur):
    created = _create(api, *eur)
    client_for(world.admin).put(
        f"{base(world)}/lock-date/", {"lock_date": "2026-03-01"}, format="json"
    )
    for response in (
        api.patch(_url(world, created["id"]), {"occurred_on": "2026-04-01"}, format="json"),
        api.delete(_url(world, created["id"])),
    ):
        assert_error(response, 409, "period_reconciled")


@pytest.mark.django_db
def test_delete_removes_both_legs_and_a_leg_restore_brings_it_back(world, api, eur):
    created = _create(api, *eur)
    assert api.delete(_url(world, created["id"])).status_code == 204
    assert all(t.deleted_at for t in _legs(created["id"]).values())
    assert_error(api.get(_url(world, created["id"])), 404, "not_found")
    leg = created["legs"][0]["id"]
    assert api.post(f"{base(world)}/transactions/{leg}/restore/").status_code == 200
    assert api.get(_url(world, created["id"])).json()["amount"] == "10.00"


@pytest.mark.django_db
def test_a_viewer_reads_but_does_not_correct(world, api, eur):
    created = _create(api, *eur)
    viewer = client_for(world.viewer)
    assert viewer.get(_url(world, created["id"])).status_code == 200
    assert_error(
        viewer.patch(_url(world, created["id"]), {"amount": "1.00"}, format="json"),
        403,
        "permission_denied",
    )


@pytest.mark.django_db
def test_a_leg_amount_edit_points_to_the_transfer(world, api, eur):
    created = _create(api, *eur)
    leg = created["legs"][0]["id"]
    error = assert_error(
        api.patch(f"{base(world)}/transactions/{leg}/", {"amount": "-1.00"}, format="json"),
        409,
        "transfer_leg",
    )
    assert f"/transfers/{created['id']}/" in error["message"]


# --- Legs take no income or expense category ----------------------------------------------------
@pytest.mark.parametrize("kind", [Category.Kind.EXPENSE, Category.Kind.INCOME])
@pytest.mark.django_db
def test_a_leg_refuses_an_income_or_expense_category(world, api, eur, kind):
    travel = CategoryFactory(organization=world.org, name="Travel", kind=kind)
    created = _create(api, *eur)
    leg = created["legs"][1]["id"]
    response = api.patch(
        f"{base(world)}/transactions/{leg}/", {"category": travel.pk}, format="json"
    )
    error = assert_error(response, 422, "transfer_category")
    assert error["fields"]["category"][0]["code"] == "transfer_category"
    response = api.patch(
        f"{base(world)}/transactions/{leg}/",
        {"splits": [{"amount": "10.00", "category": travel.pk}]},
        format="json",
    )
    assert assert_error(response, 422)["fields"]["splits.0.category"][0]["code"] == (
        "transfer_category"
    )
    assert Transaction.objects.get(pk=leg).category_id is None


@pytest.mark.django_db
def test_a_leg_accepts_a_transfer_category(world, api, eur):
    savings = CategoryFactory(organization=world.org, name="Savings", kind=Category.Kind.TRANSFER)
    leg = _create(api, *eur)["legs"][0]["id"]
    response = api.patch(
        f"{base(world)}/transactions/{leg}/", {"category": savings.pk}, format="json"
    )
    assert response.status_code == 200, response.json()


@pytest.mark.django_db
def test_bulk_categorising_a_leg_with_spending_is_refused(world, api, eur):
    travel = CategoryFactory(organization=world.org, name="Travel")
    account = eur[0]
    plain = Transaction.objects.create(
        organization=world.org, account=account, occurred_on=date(2026, 3, 2),
        amount=Decimal("-4.00"), currency="EUR",
    )  # fmt: skip
    leg = _create(api, *eur)["legs"][0]["id"]
    response = api.post(
        f"{base(world)}/transactions/bulk-update/",
        {"ids": [plain.pk, leg], "set": {"category": travel.pk}},
        format="json",
    )
    error = assert_error(response, 422, "transfer_category")
    assert "set.category" in error["fields"]
    assert not Transaction.objects.filter(category=travel).exists()


@pytest.mark.django_db
def test_the_web_form_refuses_an_expense_category_on_a_leg(world, api, eur):
    travel = CategoryFactory(organization=world.org, name="Travel")
    leg = Transaction.objects.get(pk=_create(api, *eur)["legs"][0]["id"])
    form = {"account": leg.account_id, "occurred_on": "2026-03-01", "amount": "-10.00",
            "status": "pending", "category": travel.pk,
            "etag": f'"{leg.pk}-{leg.version}"'}  # fmt: skip
    response = browser(world.member).post(f"/o/{world.org.slug}/transactions/{leg.pk}/", form)
    assert response.status_code == 422
    assert "neither income nor spending" in response.content.decode()
    leg.refresh_from_db()
    assert leg.category_id is None


@pytest.mark.django_db
def test_a_correction_is_in_the_audit_feed_with_the_rate_it_changed(world, api, cross):
    created = _create(api, *cross, "100.00", to_amount="108.00")
    api.patch(_url(world, created["id"]), {"to_amount": "110.00"}, format="json")
    entries = (
        client_for(world.admin)
        .get(f"{base(world)}/audit/", {"object_type": "transfer", "object_id": created["id"]})
        .json()["results"]
    )
    assert [e["action"] for e in entries] == ["updated", "created"]
    assert entries[0]["changes"]["rate"] == {"before": "1.0800000000", "after": "1.1000000000"}
    assert entries[0]["actor"]["user_id"] == world.member.pk
