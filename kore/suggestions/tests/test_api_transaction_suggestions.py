import time

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.suggestions.selectors import suggestions_for, text_of
from kore.suggestions.services import suggestion_model_train

from .helpers import history_write, uncategorised

pytestmark = pytest.mark.django_db


def _url(world, tx_id: int) -> str:
    return f"/api/v1/orgs/{world.org.slug}/transactions/{tx_id}/suggestions/"


def test_an_uncategorised_row_gets_three_categories_with_confidences(world, trained):
    account, categories = trained
    tx = uncategorised(account, "NETFLIX.COM 8843 AMSTERDAM", "-12.99")
    body = client_for(world.viewer).get(_url(world, tx.pk)).json()
    assert body["transaction"] == tx.pk
    first, *rest = body["suggestions"]
    assert first["category"] == {"id": categories["Subscriptions"].pk, "name": "Subscriptions"}
    assert len(rest) == 2
    assert 0 <= rest[1]["confidence"] <= rest[0]["confidence"] <= first["confidence"] <= 1
    assert body["model"]["rows"] == 30


def test_a_misspelt_payee_still_gets_its_category(world, trained):
    account, categories = trained
    tx = uncategorised(account, "BLUE BOTLE COFFE", "-5.10")
    body = client_for(world.member).get(_url(world, tx.pk)).json()
    assert body["suggestions"][0]["category"]["id"] == categories["Coffee"].pk


def test_a_categorised_row_gets_no_suggestions(world, trained):
    account, categories = trained
    tx = uncategorised(account, "NETFLIX.COM")
    tx.category = categories["Coffee"]
    tx.save()
    assert client_for(world.viewer).get(_url(world, tx.pk)).json()["suggestions"] == []


def test_before_any_training_there_is_no_model_and_no_suggestion(world):
    tx = uncategorised(AccountFactory(organization=world.org), "NETFLIX.COM")
    body = client_for(world.viewer).get(_url(world, tx.pk)).json()
    assert body == {"transaction": tx.pk, "suggestions": [], "model": None}


def test_two_organisations_never_learn_from_each_other(world, trained):
    theirs = AccountFactory(organization=world.other_org)
    other_categories = {CategoryFactory(organization=world.other_org, name="Streaming").pk}
    tx = uncategorised(theirs, "NETFLIX.COM", "-12.99")
    # Nothing learnt yet in the other organisation: our history does not leak into it.
    url = f"/api/v1/orgs/{world.other_org.slug}/transactions/{tx.pk}/suggestions/"
    assert client_for(world.outsider).get(url).json()["suggestions"] == []
    history_write(world.other_org, theirs, repeat=2)
    suggestion_model_train(organization=world.other_org)
    ours = {c.pk for c in trained[1].values()}
    got = {s["category"]["id"] for s in client_for(world.outsider).get(url).json()["suggestions"]}
    assert got
    assert not got & ours
    assert other_categories.isdisjoint(ours)


def test_another_organisations_row_is_a_404(world, trained):
    tx = uncategorised(trained[0], "NETFLIX.COM")
    assert_other_org_is_404(world.outsider, "get", _url(world, tx.pk))


def test_unauthenticated_is_401(world, trained):
    tx = uncategorised(trained[0], "NETFLIX.COM")
    assert_error(client_for(None).get(_url(world, tx.pk)), 401)


def test_wrong_method_is_405(world, trained):
    tx = uncategorised(trained[0], "NETFLIX.COM")
    assert_error(client_for(world.owner).delete(_url(world, tx.pk)), 405)


def test_a_deleted_row_is_a_404(world, trained):
    tx = uncategorised(trained[0], "NETFLIX.COM")
    tx.deleted_at = tx.created_at
    tx.save()
    assert_error(client_for(world.owner).get(_url(world, tx.pk)), 404, "not_found")


def test_a_suggestion_costs_well_under_five_milliseconds_a_row(world, trained):
    account, _ = trained
    rows = [uncategorised(account, f"Shop number {i} REWE", "-20.00") for i in range(200)]
    texts = [text_of(tx) for tx in rows]
    suggestions_for(organization=world.org, texts=texts[:1])  # loads the model once
    began = time.perf_counter()
    found, _ = suggestions_for(organization=world.org, texts=texts)
    per_row = (time.perf_counter() - began) / len(rows)
    assert all(found)
    assert per_row < 0.005, f"{per_row * 1000:.2f} ms a row"
