"""Prepared statements for the hot API queries: really prepared on the connection when on, not at
all when off, and the same rows either way (kore.core.prepared)."""

import json

import pytest
from django.db import connection

from kore.core.prepared import prepared_cursor, prepared_statements_enabled
from kore.core.testing import client_for
from kore.ledger import transaction_list as tl
from kore.ledger.models import Account
from kore.orgs.selectors import user_for_access_token
from kore.orgs.services import token_pair_issue

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def off(monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASE_PREPARED_STATEMENTS=False: the connection has no prepare_threshold."""
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "prepare_threshold")


def test_the_test_settings_prepare() -> None:
    assert connection.settings_dict["OPTIONS"]["prepare_threshold"] is not None
    assert prepared_statements_enabled()


def test_a_statement_is_prepared_on_its_first_run() -> None:
    sql = "SELECT %s::int + 1 AS kore_prepared_probe"
    with prepared_cursor() as cursor:
        cursor.execute(sql, [41])
        assert cursor.fetchone() == (42,)
    assert any("kore_prepared_probe" in statement for statement in _prepared())


def test_other_queries_are_never_prepared() -> None:
    with connection.cursor() as cursor:
        for _ in range(10):  # past any threshold
            cursor.execute("SELECT %s::int AS kore_plain_probe", [1])
    assert not any("kore_plain_probe" in statement for statement in _prepared())


def test_nothing_is_prepared_when_off(off: None) -> None:
    assert not prepared_statements_enabled()
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int AS kore_off_probe", [1])
        assert cursor.fetchone() == (1,)
    assert not any("kore_off_probe" in statement for statement in _prepared())


def test_prepared_queries_pass_through_execute_wrappers() -> None:
    """The request metrics count queries with an execute wrapper: prepared ones count too."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), prepared_cursor() as cursor:
        cursor.execute("SELECT 1 AS kore_wrapped_probe")
    assert seen == ["SELECT 1 AS kore_wrapped_probe"]


def test_the_list_page_and_the_auth_query_are_prepared(world) -> None:
    api = client_for(world.member)
    account = Account.objects.create(organization=world.org, name="A", currency="EUR")
    api.post(f"/api/v1/orgs/{world.org.slug}/transactions/",
             {"account": account.pk, "amount": "-1.00", "occurred_on": "2026-01-02"},
             format="json")  # fmt: skip
    access = token_pair_issue(user=world.member)["access"]
    response = api.get(
        f"/api/v1/orgs/{world.org.slug}/transactions/", HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    assert response.status_code == 200
    statements = _prepared()
    assert any('FROM "ledger_transaction"' in s and "json_build_object" in s for s in statements)
    assert any("FROM orgs_user u" in s for s in statements)


def _pages(world) -> list[object]:
    """The first, a middle and a filtered page as page_json renders them, and the auth query."""
    org = world.org
    everything = tl.TransactionFilter()
    first, cursor = tl.page_json(organization=org, filters=everything, limit=2)
    assert cursor is not None
    second, _ = tl.page_json(organization=org, filters=everything, cursor=cursor, limit=2)
    by_amount, _ = tl.page_json(organization=org, filters=everything, ordering="amount", limit=3)
    account = Account.objects.filter(organization=org).first()
    filtered, _ = tl.page_json(
        organization=org, filters=tl.TransactionFilter(account=account.pk, q="café"), limit=50
    )
    user = user_for_access_token(user_id=world.member.pk, jti="j", org_slug=org.slug)
    membership = user.memberships_read[org.slug]  # type: ignore[union-attr]
    return [
        [json.loads(r) for r in (*first, *second, *by_amount, *filtered)],
        [getattr(user, f.attname) for f in user._meta.concrete_fields],  # type: ignore[union-attr]
        user.token_revoked,  # type: ignore[union-attr]
        [getattr(membership, f.attname) for f in membership._meta.concrete_fields],
    ]


def test_the_same_rows_prepared_or_not(world, monkeypatch: pytest.MonkeyPatch) -> None:
    api = client_for(world.member)
    base = f"/api/v1/orgs/{world.org.slug}"
    account = Account.objects.create(organization=world.org, name="A", currency="JPY")
    for amount, description in (("-1200", "café"), ("5", "Café au lait"), ("7", "x"), ("-3", "y")):
        api.post(f"{base}/transactions/", {"account": account.pk, "amount": amount,
                 "occurred_on": "2026-01-02", "description": description, "tags": ["t"]},
                 format="json")  # fmt: skip
    prepared = _pages(world)
    assert prepared == _pages(world)  # the second run executes the prepared statements
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "prepare_threshold")
    assert _pages(world) == prepared
    assert len(prepared[0]) == 2 + 2 + 3 + 2  # type: ignore[arg-type]


def test_logged_queries_show_their_values() -> None:
    """DEBUG and CaptureQueriesContext log each statement with its values (bench/helper.py's
    page-sql replays the logged first page as it is): those run unprepared."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx, prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int AS kore_logged_probe", [7])
    assert ctx.captured_queries[-1]["sql"] == "SELECT 7::int AS kore_logged_probe"
    assert not any("kore_logged_probe" in statement for statement in _prepared())
