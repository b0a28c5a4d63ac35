"""SQLite only (the embedded runtime): a lone surrogate stored before the parser refused it.

SQLite keeps JSON as text with ``\\ud83d`` escapes, so a metadata key or value with a lone
surrogate could be stored there (PostgreSQL never accepted one). Such a row, and its history,
must not turn the pages that show it into 500s: the renderer replaces the surrogate with U+FFFD.

Not collected by the PostgreSQL suite (its name does not start with ``test_``):
``test_hostile_input_on_sqlite`` runs it on SQLite by name.
"""

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from kore.core.testing import OrgWorld, client_for
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory
from kore.ledger.tests.factories_tx import TransactionFactory

POISON = {"\ud83d": "x", "k": "\udc00"}
SCRUBBED = {"\ufffd": "x", "k": "\ufffd"}


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    assert connection.vendor == "sqlite", "run by test_hostile_input_on_sqlite, on SQLite"


@pytest.fixture
def poisoned(world: OrgWorld) -> Transaction:
    account = AccountFactory(organization=world.org)
    tx: Transaction = TransactionFactory(account=account, metadata=POISON)  # history too
    tx.refresh_from_db()
    assert tx.metadata == POISON  # really stored as it was before the parser refused it
    return tx


@pytest.fixture
def api(world: OrgWorld) -> Any:
    client = client_for(world.owner)
    client.raise_request_exception = False
    return client


def _org(world: OrgWorld) -> str:
    return f"/api/v1/orgs/{world.org.slug}/"


def test_the_detail_answers_with_the_surrogate_replaced(world, api, poisoned):
    response = api.get(f"{_org(world)}transactions/{poisoned.pk}/")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["metadata"] == SCRUBBED


def test_the_list_answers_with_the_surrogate_replaced(world, api, poisoned):
    TransactionFactory(account=poisoned.account, description="clean")
    response = api.get(f"{_org(world)}transactions/")
    assert response.status_code == 200, response.content[:300]
    by_id = {row["id"]: row for row in response.json()["results"]}
    assert by_id[poisoned.pk]["metadata"] == SCRUBBED
    assert len(by_id) == 2


def test_the_change_feed_answers_with_the_surrogate_replaced(world, api, poisoned):
    response = api.get(f"{_org(world)}transactions/changes/")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["changes"][0]["transaction"]["metadata"] == SCRUBBED


def test_the_audit_trail_answers_even_after_the_row_is_deleted(world, api, poisoned):
    assert api.delete(f"{_org(world)}transactions/{poisoned.pk}/").status_code == 204
    response = api.get(f"{_org(world)}audit/")
    assert response.status_code == 200, response.content[:300]
    actions = [e["action"] for e in response.json()["results"] if e["object_type"] == "transaction"]
    assert "created" in actions
    assert "\\ud83d" not in response.content.decode()


def test_the_web_transaction_page_answers(world, poisoned):
    client = Client()
    client.force_login(world.owner)
    client.raise_request_exception = False
    assert client.get(f"/o/{world.org.slug}/transactions/{poisoned.pk}/").status_code == 200
    assert client.get(f"/o/{world.org.slug}/transactions/").status_code == 200


def test_the_browsable_api_page_answers(world, api, poisoned):
    response = api.get(f"{_org(world)}transactions/{poisoned.pk}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200, response.content[:300]
    assert "\ufffd" in response.content.decode()
