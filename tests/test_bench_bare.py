"""The bare reference ``make bench`` divides Kore's figures by serves what Kore's list serves."""

from datetime import date, timedelta
from decimal import Decimal

import orjson
from django.test import Client, override_settings
from django.utils import timezone

from bench.bare import settings as bare_settings
from kore.core.testing import client_for
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.ledger.tests.factories_tx import TransactionFactory


def _bare_get(url: str) -> dict:
    bare = {"ROOT_URLCONF": bare_settings.ROOT_URLCONF, "MIDDLEWARE": bare_settings.MIDDLEWARE}
    with override_settings(**bare):
        response = Client().get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return orjson.loads(response.content)


def test_bare_list_serves_the_rows_of_kores_first_page(world):
    account = AccountFactory(organization=world.org)
    food = CategoryFactory(organization=world.org, name="Food")
    day = date(2026, 3, 1)
    for i in range(70):  # more than a page, several rows a day: the tie on id decides the order
        TransactionFactory(
            account=account,
            occurred_on=day - timedelta(days=i // 4),
            amount=Decimal(-i) - Decimal("0.25"),
            description=f"row {i}",
            category=food if i % 3 == 0 else None,
        )
    newest_deleted = TransactionFactory(account=account, occurred_on=day + timedelta(days=1))
    newest_deleted.deleted_at = timezone.now()
    newest_deleted.save()
    TransactionFactory(account=AccountFactory(organization=world.other_org), occurred_on=day)

    kore = client_for(world.owner).get(f"/api/v1/orgs/{world.org.slug}/transactions/?limit=50")
    assert kore.status_code == 200
    kore_rows = kore.json()["results"]
    bare_rows = _bare_get(f"/orgs/{world.org.pk}/transactions/?limit=50")["results"]

    assert len(kore_rows) == len(bare_rows) == 50
    assert [r["id"] for r in bare_rows] == [r["id"] for r in kore_rows]
    assert newest_deleted.pk not in {r["id"] for r in bare_rows}
    for bare, kore_row in zip(bare_rows, kore_rows, strict=True):
        assert bare["occurred_on"] == kore_row["occurred_on"]
        assert Decimal(bare["amount"]) == Decimal(kore_row["amount"])
        assert bare["currency"] == kore_row["currency"]
        assert bare["description"] == kore_row["description"]
        assert bare["account_id"] == kore_row["account"]
        assert bare["category_id"] == kore_row["category"]


def test_bare_trivial_view_answers_json_through_security_and_common_only(db):
    assert bare_settings.MIDDLEWARE == [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    assert _bare_get("/live/") == {"status": "ok"}


def test_bare_mandatory_serves_bare_rows_only_to_a_valid_member_token(world, tmp_path, monkeypatch):
    from datetime import timedelta as span

    from rest_framework_simplejwt.tokens import AccessToken

    from bench import helper
    from bench.bare import urls as bare_urls
    from kore.orgs.models import RevokedAccessToken
    from kore.orgs.services import token_pair_issue

    account = AccountFactory(organization=world.org)
    for i in range(3):
        TransactionFactory(account=account, occurred_on=date(2026, 3, 1) - timedelta(days=i))
    helper.page_sql(world.org.slug, str(tmp_path / "rows.sql"))
    helper.auth_sql(world.org.slug, str(tmp_path / "auth.json"))
    monkeypatch.setenv("BENCH_BARE_ROWS_SQL", str(tmp_path / "rows.sql"))
    monkeypatch.setenv("BENCH_BARE_AUTH_SQL", str(tmp_path / "auth.json"))
    monkeypatch.setenv("BENCH_BARE_ORG_SLUG", world.org.slug)
    bare_urls._rows_sql.cache_clear()
    bare_urls._auth.cache_clear()

    def get(token: str) -> object:
        bare = {"ROOT_URLCONF": bare_settings.ROOT_URLCONF, "MIDDLEWARE": bare_settings.MIDDLEWARE}
        with override_settings(**bare):
            return Client().get("/mandatory/", HTTP_AUTHORIZATION=f"Bearer {token}")

    try:
        raw = token_pair_issue(user=world.owner)["access"]  # as Kore issues it
        response = get(raw)
        assert response.status_code == 200
        assert orjson.loads(response.content) == _bare_get("/rows/")
        assert len(orjson.loads(response.content)["results"]) == 3

        assert get(raw[:-2] + "xx").status_code == 401  # signature
        outsider = token_pair_issue(user=world.outsider)["access"]
        assert get(outsider).status_code == 401  # not a member
        old = AccessToken.for_user(world.owner)
        old["iat"] = world.owner.credentials_changed_at.timestamp() - 1  # before the password
        assert get(str(old)).status_code == 401
        jti = AccessToken(raw)["jti"]
        RevokedAccessToken.objects.create(jti=jti, expires_at=timezone.now() + span(hours=1))
        assert get(raw).status_code == 401  # revoked
    finally:
        bare_urls._rows_sql.cache_clear()
        bare_urls._auth.cache_clear()
