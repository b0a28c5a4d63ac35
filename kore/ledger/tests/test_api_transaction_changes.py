"""GET /transactions/changes/: incremental sync that never misses a change."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account, Transaction
from kore.ledger.services.transactions import transactions_purge_deleted


def _url(world):
    return f"/api/v1/orgs/{world.org.slug}/transactions/changes/"


def _post(api, world, account, amount="-1.00"):
    response = api.post(
        f"/api/v1/orgs/{world.org.slug}/transactions/",
        {"account": account.pk, "occurred_on": "2026-02-01", "amount": amount},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _sync(api, world, cursor=None, limit=50):
    seen = []
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = api.get(_url(world), params).json()
        seen += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return seen, cursor


def test_reports_added_modified_and_removed_since_cursor(world):
    account = Account.objects.create(organization=world.org, name="B", currency="EUR")
    api = client_for(world.member)
    first = _post(api, world, account)
    second = _post(api, world, account)
    _, cursor = _sync(api, world)
    api.patch(
        f"/api/v1/orgs/{world.org.slug}/transactions/{first['id']}/",
        {"description": "edited"},
        format="json",
    )
    api.delete(f"/api/v1/orgs/{world.org.slug}/transactions/{second['id']}/")
    third = _post(api, world, account)
    changes, _ = _sync(api, world, cursor)
    assert [(c["op"], c["id"]) for c in changes] == [
        ("upsert", first["id"]),
        ("delete", second["id"]),
        ("upsert", third["id"]),
    ]
    assert changes[0]["transaction"]["description"] == "edited"
    assert changes[1]["transaction"] is None


def test_pages_through_changes_in_order(world):
    account = Account.objects.create(organization=world.org, name="B", currency="EUR")
    api = client_for(world.member)
    ids = [_post(api, world, account)["id"] for _ in range(7)]
    changes, _ = _sync(api, world, limit=3)
    assert [c["id"] for c in changes] == ids


def test_forged_cursor_is_400(world):
    response = client_for(world.member).get(_url(world), {"cursor": "abc"})
    assert_error(response, 400, "invalid_cursor")


def test_cursor_from_another_organisation_is_400(world):
    _, cursor = _sync(client_for(world.outsider), type("W", (), {"org": world.other_org})())
    response = client_for(world.member).get(_url(world), {"cursor": cursor})
    assert_error(response, 400, "invalid_cursor")


def test_cursor_older_than_tombstone_retention_is_410(world):
    account = Account.objects.create(organization=world.org, name="B", currency="EUR")
    api = client_for(world.member)
    _, old_cursor = _sync(api, world)
    doomed = _post(api, world, account)
    api.delete(f"/api/v1/orgs/{world.org.slug}/transactions/{doomed['id']}/")
    Transaction.objects.filter(pk=doomed["id"]).update(
        deleted_at=timezone.now() - timedelta(days=31)
    )
    assert transactions_purge_deleted() == 1
    assert_error(api.get(_url(world), {"cursor": old_cursor}), 410, "cursor_expired")


def test_other_organisation_is_404(world):
    assert_other_org_is_404(world.outsider, "get", _url(world))


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(_url(world)), 401)


def test_post_is_405(world):
    assert_error(client_for(world.member).post(_url(world), {}, format="json"), 405)


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_never_let_a_reader_skip_a_change(world):
    """Writers and a syncing reader run together; the reader must end up with every row."""
    account = Account.objects.create(organization=world.org, name="B", currency="EUR")
    writers, per_writer = 4, 15
    seen: set[int] = set()
    done = threading.Event()
    errors: list[str] = []

    def write():
        api = client_for(world.member)
        try:
            for _ in range(per_writer):
                _post(api, world, account)
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))
        finally:
            connection.close()

    def read():
        api = client_for(world.viewer)
        cursor = None
        try:
            while True:
                finished = done.is_set()
                changes, cursor = _sync(api, world, cursor, limit=7)
                seen.update(c["id"] for c in changes)
                if finished:
                    return
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    threads = [threading.Thread(target=write) for _ in range(writers)]
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    done.set()
    reader.join(60)
    assert not errors
    expected = set(Transaction.objects.filter(organization=world.org).values_list("pk", flat=True))
    assert len(expected) == writers * per_writer
    assert seen == expected
