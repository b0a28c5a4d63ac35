"""A GET never changes anything: every page of ``kore.web.urls``, opened by the owner with real
ids of a populated organisation, leaves every table as it was.

A link (``<img src>``, a prefetch, a cross-site top-level navigation: session cookies are
SameSite=Lax and ids are sequential) must not revoke, delete or promote anything. The walk reads
the URLconf, so a page added later is opened too; one with an id this module does not know fails
until it is given one.
"""

from decimal import Decimal
from itertools import product
from typing import Any

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import URLPattern, reverse

from kore.core.testing import OrgWorld
from kore.imports.models import ImportJob
from kore.imports.services import import_job_create, import_job_run
from kore.ledger.services.accounts import account_create
from kore.ledger.services.attachments import attachment_create
from kore.ledger.services.statements import statement_create
from kore.ledger.services.transactions import transaction_create, transaction_delete
from kore.ledger.services.transfers import transfer_create
from kore.ledger.tests.test_api_attachments import png_bytes
from kore.orgs.models import Membership, Role
from kore.orgs.services import api_token_create, invitation_create
from kore.payees.runs import rule_run_create
from kore.payees.services import payee_create
from kore.payees.services_rules import rule_create
from kore.web import urls as web_urls
from kore.web.views.transactions import UNDO_SALT
from kore.webhooks.events import publish
from kore.webhooks.models import WebhookDelivery
from kore.webhooks.tests.factories import WebhookEndpointFactory

from .helpers import browser, ledger, owner_ctx

# Per-request bookkeeping, not the organisation's state: the session row that signing in (and
# the security page's pending secret) writes.
NOT_STATE = frozenset({"django_session"})

CSV = b"date,amount,description\n2026-03-10,-12.50,Coffee\n2026-03-11,-3.20,Bus\n"


def _patterns() -> list[URLPattern]:
    found = [p for p in web_urls.urlpatterns if isinstance(p, URLPattern)]
    assert len(found) == len(web_urls.urlpatterns), "the walk does not descend into includes"
    return found


PATTERNS = _patterns()


def _populate(world: OrgWorld) -> dict[str, list[Any]]:
    """Transactions (one deleted), accounts, categories, a statement, two imports (a queued one and
    a finished dry run), an attachment, an API token, an invitation: every kind a page names."""
    ctx = owner_ctx(world)
    data = ledger(world, count=3)
    account, txs = data["account"], data["txs"]
    gone = transaction_create(
        ctx=ctx, account=account.pk, occurred_on="2026-03-20", amount=Decimal("-9.00")
    )
    transaction_delete(ctx=ctx, tx_id=gone.pk)
    statement = statement_create(
        ctx=ctx, account=account.pk, end_date=txs[-1].occurred_on, closing_balance=Decimal("0")
    )
    mapping = {"date": "date", "amount": "amount", "description": "description"}
    queued = import_job_create(
        ctx=ctx, file=SimpleUploadedFile("q.csv", CSV), account=account.pk, format="csv",
        mapping={**mapping, "date_format": "%Y-%m-%d"}, enqueue=False,
    )  # fmt: skip
    dry = import_job_create(
        ctx=ctx, file=SimpleUploadedFile("d.csv", CSV), account=account.pk, format="csv",
        mapping={**mapping, "date_format": "%Y-%m-%d"}, dry_run=True, enqueue=False,
    )  # fmt: skip
    import_job_run(job_id=dry.pk)
    dry.refresh_from_db()
    assert dry.status == ImportJob.Status.DONE, (dry.error_code, dry.error_message)
    attachment_create(ctx=ctx, file=SimpleUploadedFile("r.png", png_bytes()), transaction=txs[0].pk)
    token, _ = api_token_create(
        organization=world.org, creator=world.owner, creator_role=Role.OWNER, name="ci",
        role=Role.ADMIN,
    )  # fmt: skip
    invitation_create(
        organization=world.org, invited_by=world.owner, inviter_role=Role.OWNER,
        email="pending@example.com", role=Role.ADMIN,
    )  # fmt: skip
    savings = account_create(ctx=ctx, name="Savings", currency="EUR")
    transfer = transfer_create(ctx=ctx, from_account=account.pk, to_account=savings.pk,
                               amount=Decimal("5.00"), occurred_on=txs[0].occurred_on)  # fmt: skip
    members = Membership.objects.filter(organization=world.org).exclude(user=world.owner)
    payee = payee_create(ctx=ctx, name="Bakery")
    rule = rule_create(
        ctx=ctx, name="Bread", actions={"payee": payee.pk},
        conditions=[{"field": "description", "op": "contains", "value": "bread"}],
    )  # fmt: skip
    run = rule_run_create(ctx=ctx, rule=rule)
    endpoint = WebhookEndpointFactory(organization=world.org)
    publish(world.org, "export.ready", {"export": 1})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    return {
        "payee_id": [payee.pk],
        "rule_id": [rule.pk],
        "run_id": [run.pk],
        "endpoint_id": [endpoint.pk],
        "delivery_id": [delivery.pk],
        "transfer_id": [transfer.pk],
        "org_slug": [world.org.slug],
        "tx_id": [txs[0].pk, gone.pk],
        "account_id": [account.pk],
        "category_id": [data["food"].pk],
        "statement_id": [statement.pk],
        "job_id": [queued.pk, dry.pk],
        "membership_id": [m.pk for m in members.order_by("pk")],
        "token_id": [token.pk],
        "_undo": [signing.dumps([gone.pk], salt=UNDO_SALT)],
        "_tx": [txs[0].pk],
        "_account": [account.pk],
    }


def _form_like_query(ids: dict[str, list[Any]]) -> dict[str, Any]:
    """What the pages' forms post, sent as a query string instead: it must be ignored too."""
    return {
        "remove": "1", "delete": "1", "role": "viewer", "archived": "1", "name": "Changed",
        "action": "delete", "ids": ids["_tx"][0], "undo": ids["_undo"][0], "status": "cleared",
        "email": "mallory@example.com", "account": ids["_account"][0], "end_date": "2026-03-31",
        "closing_balance": "0", "reassign_to": "", "category": "", "tags": "x", "etag": "",
    }  # fmt: skip


def _snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row of every table (but per-request bookkeeping)."""
    state: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table in sorted(set(connection.introspection.table_names()) - NOT_STATE):
            name = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"  # noqa: S608 - a table name from introspection
                f" FROM {name} t"
            )
            count, digest = cursor.fetchone()
            state[table] = (count, digest)
    return state


def _changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [t for t in sorted(set(before) | set(after)) if before.get(t) != after.get(t)]


def _urls(pattern: URLPattern, ids: dict[str, list[Any]]) -> list[str]:
    names = sorted(pattern.pattern.converters)  # type: ignore[attr-defined]
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"{pattern.pattern}: give _populate an id for {unknown}"
    assert pattern.name, f"{pattern.pattern} has no name"
    combos = product(*(ids[n] for n in names))
    return [reverse(f"web:{pattern.name}", kwargs=dict(zip(names, c, strict=True))) for c in combos]


def test_the_walk_sees_the_web_app() -> None:
    names = {p.name for p in PATTERNS}
    assert {"token-revoke", "member", "invite", "transaction-delete", "import-promote"} <= names
    assert len(PATTERNS) > 30


@pytest.mark.parametrize("pattern", PATTERNS, ids=[str(p.pattern) for p in PATTERNS])
def test_get_changes_nothing(world: OrgWorld, settings: Any, tmp_path: Any, pattern: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    ids = _populate(world)
    client = browser(world.owner)
    query = _form_like_query(ids)
    for url in _urls(pattern, ids):
        for params in ({}, query):
            before = _snapshot()
            response = client.get(url, params)
            assert response.status_code < 500, (url, params, response.status_code)
            after = _snapshot()
            assert _changed(before, after) == [], (url, params, response.status_code)
