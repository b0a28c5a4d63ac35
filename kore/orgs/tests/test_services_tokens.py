"""tokens_flush_expired: drop revoked-jti and refresh-token rows nobody can use any more."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from kore.orgs.models import RevokedAccessToken, User
from kore.orgs.services import token_pair_issue, tokens_flush_expired
from kore.orgs.tests.factories import UserFactory


@pytest.fixture
def user(db) -> User:
    return UserFactory()


def _outstanding(user: User, expires_in: timedelta) -> OutstandingToken:
    token = RefreshToken.for_user(user)  # records the OutstandingToken row
    row = OutstandingToken.objects.get(jti=token["jti"])
    row.expires_at = timezone.now() + expires_in
    row.save(update_fields=["expires_at"])
    return row


def test_deletes_expired_revoked_access_tokens(db):
    RevokedAccessToken.objects.create(jti="old", expires_at=timezone.now() - timedelta(seconds=1))
    tokens_flush_expired()
    assert not RevokedAccessToken.objects.filter(jti="old").exists()


def test_keeps_live_revoked_access_tokens(db):
    RevokedAccessToken.objects.create(jti="live", expires_at=timezone.now() + timedelta(minutes=5))
    tokens_flush_expired()
    assert RevokedAccessToken.objects.filter(jti="live").exists()


def test_deletes_expired_outstanding_refresh_tokens(user):
    row = _outstanding(user, -timedelta(seconds=1))
    tokens_flush_expired()
    assert not OutstandingToken.objects.filter(pk=row.pk).exists()


def test_keeps_live_outstanding_refresh_tokens(user):
    row = _outstanding(user, timedelta(hours=1))
    tokens_flush_expired()
    assert OutstandingToken.objects.filter(pk=row.pk).exists()


def test_deletes_the_blacklist_entry_of_an_expired_refresh_token(user):
    row = _outstanding(user, -timedelta(seconds=1))
    BlacklistedToken.objects.create(token=row)
    tokens_flush_expired()
    assert not BlacklistedToken.objects.exists()


def test_keeps_the_blacklist_entry_of_a_live_refresh_token(user):
    row = _outstanding(user, timedelta(hours=1))
    BlacklistedToken.objects.create(token=row)
    tokens_flush_expired()
    assert BlacklistedToken.objects.filter(token=row).exists()


def test_live_blacklisted_refresh_stays_refused_after_a_flush(user):
    token = RefreshToken.for_user(user)
    token.blacklist()
    tokens_flush_expired()
    with pytest.raises(TokenError):
        RefreshToken(str(token))


def test_revoked_access_token_stays_refused_after_a_flush(user):
    access = token_pair_issue(user=user)["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.post("/api/v1/auth/logout/", {}, format="json").status_code == 204
    tokens_flush_expired()
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_revoked"


def test_returns_how_many_rows_it_deleted(user):
    RevokedAccessToken.objects.create(jti="a", expires_at=timezone.now() - timedelta(hours=1))
    RevokedAccessToken.objects.create(jti="b", expires_at=timezone.now() - timedelta(hours=1))
    RevokedAccessToken.objects.create(jti="c", expires_at=timezone.now() + timedelta(hours=1))
    _outstanding(user, -timedelta(hours=1))
    _outstanding(user, timedelta(hours=1))
    assert tokens_flush_expired() == 3


def test_flush_with_nothing_to_do_returns_zero(db):
    assert tokens_flush_expired() == 0
