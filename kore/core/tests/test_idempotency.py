"""Idempotency-Key on POST: replay, reuse with another body, in-flight retries, scoping."""

import threading

import pytest
from django.db import connection

from kore.core.testing import assert_error, client_for
from kore.ledger.models import Account, Transaction


def _account(world):
    return Account.objects.create(organization=world.org, name="Bank", currency="EUR")


def _tx_body(account):
    return {"account": account.pk, "occurred_on": "2026-03-01", "amount": "-5.00"}


def test_retry_with_same_key_and_body_replays_first_response(world):
    account = _account(world)
    api = client_for(world.member)
    url = f"/api/v1/orgs/{world.org.slug}/transactions/"
    first = api.post(url, _tx_body(account), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(url, _tx_body(account), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Transaction.objects.filter(organization=world.org).count() == 1


def test_same_key_with_another_body_is_422(world):
    account = _account(world)
    api = client_for(world.member)
    url = f"/api/v1/orgs/{world.org.slug}/transactions/"
    api.post(url, _tx_body(account), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = {**_tx_body(account), "amount": "-6.00"}
    response = api.post(url, other, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert_error(response, 422, "idempotency_key_reused")
    assert Transaction.objects.filter(organization=world.org).count() == 1


def test_keys_are_scoped_to_the_caller(world):
    account = _account(world)
    url = f"/api/v1/orgs/{world.org.slug}/transactions/"
    for person in (world.member, world.admin):
        response = client_for(person).post(
            url, _tx_body(account), format="json", HTTP_IDEMPOTENCY_KEY="shared"
        )
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
    assert Transaction.objects.filter(organization=world.org).count() == 2


def test_a_failed_request_is_not_stored(world):
    account = _account(world)
    api = client_for(world.member)
    url = f"/api/v1/orgs/{world.org.slug}/transactions/"
    bad = {**_tx_body(account), "amount": "-5.001"}
    assert api.post(url, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 422
    assert api.post(url, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 422


def test_key_longer_than_255_is_400(world):
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/accounts/",
        {"name": "X", "currency": "EUR"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 256,
    )
    assert_error(response, 400, "invalid_idempotency_key")


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_retries_create_exactly_one_transaction(world):
    account = _account(world)
    url = f"/api/v1/orgs/{world.org.slug}/transactions/"
    clients = [client_for(world.member) for _ in range(20)]
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def send(api):
        try:
            barrier.wait()
            response = api.post(url, _tx_body(account), format="json", HTTP_IDEMPOTENCY_KEY="race")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert Transaction.objects.filter(organization=world.org).count() == 1
    assert len(statuses) == 20
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
