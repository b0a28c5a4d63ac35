import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kore.core.testing import assert_error, client_for
from kore.ledger.tests.factories import AccountFactory
from kore.suggestions.services import suggestion_model_train

from .helpers import history_write, uncategorised

pytestmark = pytest.mark.django_db


def _url(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}/suggestions/"


@pytest.fixture
def account(world):
    account = AccountFactory(organization=world.org)
    history_write(world.org, account)
    suggestion_model_train(organization=world.org)
    return account


def test_a_page_of_rows_gets_its_suggestions_in_one_request_in_the_order_asked(world, account):
    rows = [uncategorised(account, p) for p in ("Shell Station", "NETFLIX.COM", "REWE Markt")]
    query = "&".join(f"transaction={tx.pk}" for tx in reversed(rows))
    body = client_for(world.viewer).get(f"{_url(world)}?{query}").json()
    assert [r["transaction"] for r in body["results"]] == [tx.pk for tx in reversed(rows)]
    firsts = [r["suggestions"][0]["category"]["name"] for r in body["results"]]
    assert firsts == ["Groceries", "Subscriptions", "Fuel"]


def test_the_queries_do_not_grow_with_the_rows(world, account):
    def count(n: int) -> int:
        rows = [uncategorised(account, "Shell Station") for _ in range(n)]
        query = "&".join(f"transaction={tx.pk}" for tx in rows)
        with CaptureQueriesContext(connection) as queries:
            assert client_for(world.viewer).get(f"{_url(world)}?{query}").status_code == 200
        return len(queries)

    count(1)  # the first request of a process loads the model
    assert count(2) == count(40)


def test_another_organisations_rows_are_left_out(world, account):
    theirs = uncategorised(AccountFactory(organization=world.other_org), "NETFLIX.COM")
    ours = uncategorised(account, "NETFLIX.COM")
    url = f"{_url(world)}?transaction={theirs.pk}&transaction={ours.pk}"
    body = client_for(world.viewer).get(url).json()
    assert [r["transaction"] for r in body["results"]] == [ours.pk]


def test_no_ids_is_422(world, account):
    assert_error(client_for(world.viewer).get(_url(world)), 422, "validation_failed")


def test_more_than_a_page_is_422(world, account):
    query = "&".join(f"transaction={i}" for i in range(1, 102))
    assert_error(client_for(world.viewer).get(f"{_url(world)}?{query}"), 422, "validation_failed")


def test_an_id_that_is_not_a_number_is_400(world, account):
    assert_error(client_for(world.viewer).get(f"{_url(world)}?transaction=x"), 400)


def test_wrong_method_is_405(world, account):
    assert_error(client_for(world.owner).post(_url(world), {}, format="json"), 405)
