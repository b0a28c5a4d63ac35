"""GET /api/v1/orgs/{slug}/audit/: who changed what, when, in which request (admins, read-only)."""

from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from rest_framework.test import APIClient

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account, Statement, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.orgs.models import Role, User
from kore.orgs.services import api_token_create

from .factories_tx import tx_payload


def _url(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}/audit/"


def _base(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response


def _audit(world, **params: Any) -> dict[str, Any]:
    response = _ok(client_for(world.admin).get(_url(world), params))
    return dict(response.json())


def _entries(world, **params: Any) -> list[dict[str, Any]]:
    return list(_audit(world, limit=500, **params)["results"])


def _actor(user: User, token_id: int | None = None) -> dict[str, Any]:
    return {"user_id": user.pk, "email": user.email, "api_token_id": token_id}


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- What an entry holds, per kind ----------------------------------------------------------------
def test_account_create_update_delete(world):
    api = client_for(world.owner)
    created = _ok(
        api.post(
            f"{_base(world)}/accounts/",
            {"name": "Main", "currency": "EUR", "opening_balance": "10.00"},
        ),
        201,
    )
    account_id = created.json()["id"]
    url = f"{_base(world)}/accounts/{account_id}/"
    updated = _ok(api.patch(url, {"name": "Everyday", "opening_balance": "12.5"}))
    deleted = _ok(api.delete(url), 204)

    newest, middle, oldest = _entries(world, object_type="account", object_id=account_id)
    assert [e["action"] for e in (newest, middle, oldest)] == ["deleted", "updated", "created"]
    for entry, response in ((oldest, created), (middle, updated), (newest, deleted)):
        assert entry["id"].startswith("account:")
        assert entry["object_type"] == "account"
        assert entry["object_id"] == account_id
        assert entry["actor"] == _actor(world.owner)
        assert entry["request_id"] == response["X-Request-ID"]
        assert entry["at"].endswith("Z")
    assert oldest["changes"]["name"] == {"after": "Main"}
    assert oldest["changes"]["opening_balance"] == {"after": "10.00"}
    assert oldest["changes"]["currency"] == {"after": "EUR"}
    assert "id" not in oldest["changes"]
    assert "organization" not in oldest["changes"]
    assert middle["changes"]["name"] == {"before": "Main", "after": "Everyday"}
    assert middle["changes"]["opening_balance"] == {"before": "10.00", "after": "12.50"}
    assert "currency" not in middle["changes"]
    assert newest["changes"]["name"] == {"before": "Everyday"}
    assert not Account.objects.filter(pk=account_id).exists()


def test_category_create_update_delete(world):
    api = client_for(world.member)
    created = _ok(api.post(f"{_base(world)}/categories/", {"name": "Food"}), 201)
    category_id = created.json()["id"]
    url = f"{_base(world)}/categories/{category_id}/"
    updated = _ok(api.patch(url, {"name": "Groceries"}))
    deleted = _ok(api.delete(url), 204)

    entries = _entries(world, object_type="category", object_id=category_id)
    assert [e["action"] for e in entries] == ["deleted", "updated", "created"]
    assert [e["request_id"] for e in entries] == [
        r["X-Request-ID"] for r in (deleted, updated, created)
    ]
    assert all(e["actor"] == _actor(world.member) for e in entries)
    assert entries[2]["changes"]["name"] == {"after": "Food"}
    assert entries[2]["changes"]["kind"] == {"after": "expense"}
    assert entries[1]["changes"] == {
        "name": {"before": "Food", "after": "Groceries"},
        "version": {"before": 1, "after": 2},
    }
    assert entries[0]["changes"]["name"] == {"before": "Groceries"}


def test_transaction_create_update_delete(world):
    account = AccountFactory(organization=world.org, currency="EUR")
    api = client_for(world.member)
    created = _ok(
        api.post(
            f"{_base(world)}/transactions/",
            tx_payload(account, description="Coffee", metadata={"k": "v"}),
        ),
        201,
    )
    tx_id = created.json()["id"]
    url = f"{_base(world)}/transactions/{tx_id}/"
    updated = _ok(api.patch(url, {"amount": "-4.5", "description": "Coffee and cake"}))
    deleted = _ok(api.delete(url), 204)

    entries = _entries(world, object_type="transaction", object_id=tx_id)
    assert [e["action"] for e in entries] == ["deleted", "updated", "created"]
    assert [e["request_id"] for e in entries] == [
        r["X-Request-ID"] for r in (deleted, updated, created)
    ]
    assert all(e["actor"] == _actor(world.member) for e in entries)
    first = entries[2]["changes"]
    assert first["amount"] == {"after": "-12.30"}
    assert first["account"] == {"after": account.pk}
    assert first["occurred_on"] == {"after": "2026-01-15"}
    assert first["metadata"] == {"after": {"k": "v"}}
    assert first["deleted_at"] == {"after": None}
    assert "change_seq" not in first  # not tracked
    change = entries[1]["changes"]
    assert change["amount"] == {"before": "-12.30", "after": "-4.50"}
    assert change["description"] == {"before": "Coffee", "after": "Coffee and cake"}
    assert change["version"] == {"before": 1, "after": 2}
    assert "account" not in change
    gone = entries[0]["changes"]  # a soft delete: deleted_at is set
    assert gone["deleted_at"]["before"] is None
    assert gone["deleted_at"]["after"].endswith("Z")
    assert Transaction.objects.get(pk=tx_id).deleted_at is not None


def test_statement_create_and_reconcile(world):
    account = AccountFactory(organization=world.org, currency="JPY")
    api = client_for(world.member)
    created = _ok(
        api.post(
            f"{_base(world)}/statements/",
            {"account": account.pk, "end_date": "2026-01-31", "closing_balance": "0"},
        ),
        201,
    )
    statement_id = created.json()["id"]
    reconciled = _ok(api.post(f"{_base(world)}/statements/{statement_id}/reconcile/"))

    entries = _entries(world, object_type="statement", object_id=statement_id)
    assert [e["action"] for e in entries] == ["updated", "created"]
    assert [e["request_id"] for e in entries] == [
        reconciled["X-Request-ID"],
        created["X-Request-ID"],
    ]
    assert entries[1]["changes"]["closing_balance"] == {"after": "0"}  # JPY: no decimals
    assert entries[1]["changes"]["status"] == {"after": "open"}
    assert entries[0]["changes"]["status"] == {"before": "open", "after": "reconciled"}
    assert entries[0]["changes"]["reconciled_at"]["before"] is None
    assert Statement.objects.get(pk=statement_id).status == Statement.Status.RECONCILED


def test_membership_role_change_appears(world):
    membership = world.member.memberships.get(organization=world.org)
    response = _ok(
        client_for(world.owner).patch(
            f"{_base(world)}/members/{membership.pk}/", {"role": "viewer"}
        )
    )
    newest = _entries(world, object_type="membership", object_id=membership.pk)[0]
    assert newest["action"] == "updated"
    assert newest["actor"] == _actor(world.owner)
    assert newest["request_id"] == response["X-Request-ID"]
    assert newest["changes"] == {"role": {"before": "member", "after": "viewer"}}


# --- Who: an API token, and no leak to the next request -----------------------------------------
def test_api_token_change_names_the_token_and_does_not_leak(world):
    token, raw = api_token_create(
        organization=world.org,
        creator=world.admin,
        creator_role=Role.ADMIN,
        name="importer",
        role=Role.MEMBER,
    )
    by_token = _ok(_bearer(raw).post(f"{_base(world)}/categories/", {"name": "From a script"}), 201)
    # The next request in this thread is a person's: it must not inherit the token.
    by_person = _ok(
        client_for(world.admin).post(f"{_base(world)}/categories/", {"name": "By hand"}), 201
    )
    entries = {e["object_id"]: e for e in _entries(world, object_type="category")}
    scripted = entries[by_token.json()["id"]]
    assert scripted["actor"] == _actor(world.admin, token.pk)
    assert scripted["request_id"] == by_token["X-Request-ID"]
    manual = entries[by_person.json()["id"]]
    assert manual["actor"] == _actor(world.admin)
    assert manual["request_id"] == by_person["X-Request-ID"]


# --- Bulk writes ---------------------------------------------------------------------------------
def test_bulk_create_has_one_entry_per_row_with_the_request_id(world):
    account = AccountFactory(organization=world.org)
    items = [tx_payload(account, amount=f"-{i}.00") for i in range(1, 5)]
    response = _ok(
        client_for(world.member).post(f"{_base(world)}/transactions/bulk/", {"items": items}),
        201,
    )
    ids = response.json()["ids"]
    entries = _entries(world, object_type="transaction")
    assert sorted(e["object_id"] for e in entries) == sorted(ids)
    assert {e["action"] for e in entries} == {"created"}
    assert {e["request_id"] for e in entries} == {response["X-Request-ID"]}
    assert all(e["actor"] == _actor(world.member) for e in entries)
    amounts = {e["object_id"]: e["changes"]["amount"]["after"] for e in entries}
    assert [amounts[i] for i in ids] == ["-1.00", "-2.00", "-3.00", "-4.00"]


def test_bulk_delete_has_one_entry_per_row(world):
    account = AccountFactory(organization=world.org)
    api = client_for(world.member)
    items = [tx_payload(account) for _ in range(3)]
    ids = _ok(api.post(f"{_base(world)}/transactions/bulk/", {"items": items}), 201).json()["ids"]
    response = _ok(api.post(f"{_base(world)}/transactions/bulk-delete/", {"ids": ids}))
    deleted = [e for e in _entries(world, object_type="transaction") if e["action"] == "deleted"]
    assert sorted(e["object_id"] for e in deleted) == sorted(ids)
    assert {e["request_id"] for e in deleted} == {response["X-Request-ID"]}


# --- Filters and pages --------------------------------------------------------------------------
def test_filters_by_object_type_and_id(world):
    first = AccountFactory(organization=world.org)
    second = AccountFactory(organization=world.org)
    CategoryFactory(organization=world.org)
    AccountFactory(organization=world.other_org)  # another organisation's: never listed
    everything = _entries(world)
    assert {e["object_type"] for e in everything} == {"account", "category", "membership"}
    accounts = _entries(world, object_type="account")
    assert sorted(e["object_id"] for e in accounts) == sorted([first.pk, second.pk])
    only = _entries(world, object_type="account", object_id=second.pk)
    assert [e["object_id"] for e in only] == [second.pk]
    memberships = _entries(world, object_type="membership")
    assert len(memberships) == 4  # the four people of world.org


def test_object_id_needs_object_type(world):
    response = client_for(world.admin).get(_url(world), {"object_id": 1})
    assert_error(response, 400, "invalid_request")


def test_unknown_object_type_is_refused(world):
    response = client_for(world.admin).get(_url(world), {"object_type": "tag"})
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


def test_cursor_walks_every_entry_exactly_once(world):
    account = AccountFactory(organization=world.org)
    CategoryFactory.create_batch(3, organization=world.org)
    api = client_for(world.member)
    # Seven rows with the same history_date: the history id breaks the tie.
    items = [tx_payload(account, amount=f"-{i}.00") for i in range(1, 8)]
    _ok(api.post(f"{_base(world)}/transactions/bulk/", {"items": items}), 201)
    expected = [e["id"] for e in _entries(world)]
    assert len(expected) == len(set(expected)) == 1 + 3 + 7 + 4

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = _audit(world, **params)
        pages += 1
        assert len(page["results"]) <= 4
        seen += [e["id"] for e in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected  # same order, each once
    assert pages == 4
    stamps = [e["at"] for e in _entries(world)]
    assert stamps == sorted(stamps, reverse=True)


def test_cursor_is_bound_to_its_filter(world):
    AccountFactory.create_batch(3, organization=world.org)
    cursor = _audit(world, object_type="account", limit=1)["next_cursor"]
    assert cursor
    response = client_for(world.admin).get(
        _url(world), {"object_type": "category", "cursor": cursor}
    )
    assert_error(response, 400, "invalid_cursor")


def test_bad_cursor_is_400(world):
    response = client_for(world.admin).get(_url(world), {"cursor": "not-a-cursor"})
    assert_error(response, 400, "invalid_cursor")


def test_limit_out_of_range_is_422(world):
    response = client_for(world.admin).get(_url(world), {"limit": 501})
    assert_error(response, 422, "limit_out_of_range")


@pytest.mark.parametrize("limit", [2, 50])
def test_queries_per_page_are_constant(world, django_assert_max_num_queries, limit):
    account = AccountFactory(organization=world.org)
    statement_api = client_for(world.member)
    for day in (10, 20):
        _ok(
            statement_api.post(
                f"{_base(world)}/statements/",
                {"account": account.pk, "end_date": f"2026-01-{day}", "closing_balance": "0"},
            ),
            201,
        )
    for category in CategoryFactory.create_batch(5, organization=world.org):
        _ok(
            statement_api.patch(
                f"{_base(world)}/categories/{category.pk}/", {"name": "x" * 3 + str(category.pk)}
            )
        )
    items = [tx_payload(account) for _ in range(20)]
    ids = _ok(
        statement_api.post(f"{_base(world)}/transactions/bulk/", {"items": items}), 201
    ).json()["ids"]
    _ok(statement_api.post(f"{_base(world)}/transactions/bulk-delete/", {"ids": ids}))
    api = client_for(world.admin)
    cursor = None
    walked = 0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        # auth (2) + organisation (1) + six tables + up to six previous-version fetches
        with django_assert_max_num_queries(15):
            page = _ok(api.get(_url(world), params)).json()
        walked += len(page["results"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == 1 + 2 + 5 * 2 + 20 * 2 + 4


# --- Who may read it; nobody writes it ---------------------------------------------------------
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_read(world, role):
    response = client_for(getattr(world, role)).get(_url(world))
    assert response.status_code == 200
    assert set(response.json()) == {"results", "next_cursor"}


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_are_refused(world, role):
    response = client_for(getattr(world, role)).get(_url(world))
    assert_error(response, 403, "permission_denied")


def test_admin_api_token_reads_but_member_token_does_not(world):
    _, admin_raw = api_token_create(
        organization=world.org, creator=world.admin, creator_role=Role.ADMIN, name="a",
        role=Role.ADMIN,
    )  # fmt: skip
    _, member_raw = api_token_create(
        organization=world.org, creator=world.admin, creator_role=Role.ADMIN, name="m",
        role=Role.MEMBER,
    )  # fmt: skip
    assert _bearer(admin_raw).get(_url(world)).status_code == 200
    assert_error(_bearer(member_raw).get(_url(world)), 403, "permission_denied")


def test_outsider_gets_404(world):
    assert_other_org_is_404(world.outsider, "get", _url(world))


def test_unauthenticated_is_401(world):
    assert_error(client_for(None).get(_url(world)), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_trail_is_read_only(world, method):
    response = getattr(client_for(world.owner), method)(_url(world), {})
    assert_error(response, 405, "method_not_allowed")


def test_history_is_not_editable_in_the_admin(world):
    assert settings.SIMPLE_HISTORY_REVERT_DISABLED is True
    registered = {model._meta.model_name for model in admin.site._registry}
    assert not any(name.startswith("historical") for name in registered)
    account = AccountFactory(organization=world.org)
    record = account.history.get()
    superuser = User.objects.create_superuser("root@example.com", "x-Very-long-pass-1")
    browser = Client()
    browser.force_login(superuser)
    response = browser.get(f"/admin/ledger/account/{account.pk}/history/{record.history_id}/")
    assert response.status_code == 200
    assert b"Revert" not in response.content
