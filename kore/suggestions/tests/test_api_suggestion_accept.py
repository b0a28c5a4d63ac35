import pytest

from kore.core.testing import assert_error, client_for
from kore.ledger.models import Transaction
from kore.suggestions.models import AppliedSuggestion

from .helpers import uncategorised

pytestmark = pytest.mark.django_db


def _url(world, tx_id: int) -> str:
    return f"/api/v1/orgs/{world.org.slug}/transactions/{tx_id}/suggestions/accept/"


def test_accepting_a_suggestion_sets_the_category_and_records_it(world, trained):
    account, categories = trained
    tx = uncategorised(account, "NETFLIX.COM", "-12.99")
    wanted = categories["Subscriptions"].pk
    response = client_for(world.member).post(
        _url(world, tx.pk), {"category": wanted}, format="json"
    )
    assert response.status_code == 200, response.content
    tx = Transaction.objects.get(pk=tx.pk)
    assert tx.category_id == wanted
    applied = AppliedSuggestion.objects.get(transaction=tx)
    assert (applied.how, applied.applied_by_id, applied.category_id) == (
        "accepted",
        world.member.pk,
        wanted,
    )
    assert applied.suggested[0]["category"] == wanted
    assert tx.history.first().category_id == wanted


def test_a_category_that_was_not_suggested_is_422_and_nothing_changes(world, trained):
    account, categories = trained
    tx = uncategorised(account, "NETFLIX.COM", "-12.99")
    unrelated = categories["Salary"].pk
    found = (
        client_for(world.member)
        .get(f"/api/v1/orgs/{world.org.slug}/transactions/{tx.pk}/suggestions/")
        .json()["suggestions"]
    )
    assert unrelated not in {s["category"]["id"] for s in found}
    response = client_for(world.member).post(
        _url(world, tx.pk), {"category": unrelated}, format="json"
    )
    assert_error(response, 422, "suggestion_not_offered")
    assert Transaction.objects.get(pk=tx.pk).category_id is None
    assert not AppliedSuggestion.objects.exists()


def test_a_viewer_cannot_accept(world, trained):
    account, categories = trained
    tx = uncategorised(account, "NETFLIX.COM")
    response = client_for(world.viewer).post(
        _url(world, tx.pk), {"category": categories["Subscriptions"].pk}, format="json"
    )
    assert_error(response, 403)


def test_a_missing_category_is_400(world, trained):
    tx = uncategorised(trained[0], "NETFLIX.COM")
    assert_error(client_for(world.member).post(_url(world, tx.pk), {}, format="json"), 400)


def test_wrong_method_is_405(world, trained):
    tx = uncategorised(trained[0], "NETFLIX.COM")
    assert_error(client_for(world.member).get(_url(world, tx.pk)), 405)
