"""/api/v1/orgs/{slug}/api-tokens/: an organisation's machine credentials."""

import hashlib
import string
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.orgs.models import ApiToken, Membership, Role, SecurityEvent, User
from kore.orgs.services import api_token_create, api_token_revoke
from kore.orgs.tests.factories import MembershipFactory


def _url(world) -> str:
    return f"/api/v1/orgs/{world.org.slug}/api-tokens/"


def _detail(world, token_id: int) -> str:
    return f"/api/v1/orgs/{world.org.slug}/api-tokens/{token_id}/"


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _make(world, creator: User, role: str = Role.VIEWER, **extra) -> tuple[ApiToken, str]:
    membership = Membership.objects.get(organization=world.org, user=creator)
    return api_token_create(
        organization=world.org,
        creator=creator,
        creator_role=membership.role,
        name=extra.pop("name", "ci"),
        role=role,
        **extra,
    )


# --- Create ------------------------------------------------------------------------------------
def test_create_returns_the_secret_once(world):
    response = client_for(world.member).post(
        _url(world), {"name": "deploy", "role": "member"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "deploy"
    assert body["role"] == "member"
    assert body["created_by"] == world.member.email
    assert body["token"].startswith(f"kore_{body['prefix']}_")
    assert body["revoked_at"] is None
    assert body["last_used_at"] is None


def test_created_token_defaults_to_viewer(world):
    response = client_for(world.member).post(_url(world), {"name": "read-only"}, format="json")
    assert response.json()["role"] == "viewer"


def test_list_never_shows_the_secret(world):
    raw = client_for(world.admin).post(_url(world), {"name": "x"}, format="json").json()["token"]
    response = client_for(world.admin).get(_url(world))
    assert response.status_code == 200
    [listed] = response.json()["results"]
    assert "token" not in listed
    assert raw not in response.content.decode()
    assert raw.split("_", 2)[2] not in response.content.decode()


def test_db_stores_only_the_sha256_and_the_prefix(world):
    body = client_for(world.admin).post(_url(world), {"name": "x"}, format="json").json()
    raw = body["token"]
    row = ApiToken.objects.get(pk=body["id"])
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert row.prefix == body["prefix"] == raw.split("_")[1]
    secret = raw.split("_", 2)[2]
    stored = ApiToken.objects.filter(pk=row.pk).values().get()
    assert not any(secret in str(value) for value in stored.values())


def test_create_with_role_above_mine_is_422_role_too_high(world):
    response = client_for(world.member).post(
        _url(world), {"name": "x", "role": "admin"}, format="json"
    )
    assert_error(response, 422, "role_too_high")
    assert not ApiToken.objects.exists()


def test_viewer_can_create_a_viewer_token(world):
    response = client_for(world.viewer).post(
        _url(world), {"name": "x", "role": "viewer"}, format="json"
    )
    assert response.status_code == 201, response.json()


def test_viewer_cannot_create_a_member_token(world):
    response = client_for(world.viewer).post(
        _url(world), {"name": "x", "role": "member"}, format="json"
    )
    assert_error(response, 422, "role_too_high")


def test_owner_can_create_an_owner_token(world):
    response = client_for(world.owner).post(
        _url(world), {"name": "x", "role": "owner"}, format="json"
    )
    assert response.status_code == 201


def test_create_with_expiry_in_the_past_is_422(world):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = client_for(world.admin).post(
        _url(world), {"name": "x", "expires_at": past}, format="json"
    )
    error = assert_error(response, 422, "expiry_in_past")
    assert list(error["fields"]) == ["expires_at"]


def test_create_with_unknown_role_is_422_invalid_choice(world):
    response = client_for(world.admin).post(
        _url(world), {"name": "x", "role": "superuser"}, format="json"
    )
    error = assert_error(response, 422)
    assert error["fields"]["role"][0]["code"] == "invalid_choice"


def test_create_with_unknown_field_is_400(world):
    response = client_for(world.admin).post(
        _url(world), {"name": "x", "token_hash": "0" * 64}, format="json"
    )
    assert_error(response, 400, "unknown_field")


def test_create_without_name_is_400(world):
    response = client_for(world.admin).post(_url(world), {}, format="json")
    error = assert_error(response, 400)
    assert error["fields"]["name"][0]["code"] == "required"


def test_each_token_gets_its_own_secret_and_prefix(world):
    client = client_for(world.admin)
    first = client.post(_url(world), {"name": "a"}, format="json").json()
    second = client.post(_url(world), {"name": "a"}, format="json").json()
    assert first["token"] != second["token"]
    assert first["prefix"] != second["prefix"]


def test_token_created_records_a_security_event(world):
    response = client_for(world.member).post(
        _url(world), {"name": "x", "role": "member"}, format="json", REMOTE_ADDR="203.0.113.3"
    )
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.TOKEN_CREATED)
    assert event.actor == world.member
    assert event.organization == world.org
    assert event.ip == "203.0.113.3"
    assert event.request_id == response["X-Request-ID"]
    assert event.detail == {"token": response.json()["prefix"], "role": "member"}
    assert response.json()["token"] not in str(event.detail)


# --- Using a token -------------------------------------------------------------------------------
def test_token_reaches_its_own_organisation(world):
    _, raw = _make(world, world.member)
    response = _bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/")
    assert response.status_code == 200
    assert response.json()["slug"] == world.org.slug


def test_token_is_404_on_another_org_its_creator_belongs_to(world):
    MembershipFactory(organization=world.other_org, user=world.member, role=Role.OWNER)
    _, raw = _make(world, world.member)
    assert client_for(world.member).get(f"/api/v1/orgs/{world.other_org.slug}/").status_code == 200
    response = _bearer(raw).get(f"/api/v1/orgs/{world.other_org.slug}/")
    assert_error(response, 404, "not_found")


def test_token_role_caps_the_creators_role(world):
    _, raw = _make(world, world.owner, Role.VIEWER)
    assert _bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/").json()["role"] == "viewer"


def test_viewer_token_cannot_write(world):
    _, raw = _make(world, world.owner, Role.VIEWER)
    response = _bearer(raw).patch(
        f"/api/v1/orgs/{world.org.slug}/", {"name": "Renamed"}, format="json"
    )
    assert_error(response, 403, "permission_denied")


def test_admin_token_of_an_admin_can_write_admin_settings(world):
    _, raw = _make(world, world.admin, Role.ADMIN)
    response = _bearer(raw).patch(
        f"/api/v1/orgs/{world.org.slug}/", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == 200, response.json()


def test_creator_demoted_below_the_token_role_caps_the_token(world):
    _, raw = _make(world, world.admin, Role.ADMIN)
    Membership.objects.filter(organization=world.org, user=world.admin).update(role=Role.MEMBER)
    response = _bearer(raw).patch(
        f"/api/v1/orgs/{world.org.slug}/", {"name": "Renamed"}, format="json"
    )
    assert_error(response, 403, "permission_denied")


def test_creator_removed_from_the_org_makes_the_token_404(world):
    _, raw = _make(world, world.member)
    Membership.objects.filter(organization=world.org, user=world.member).delete()
    assert_error(_bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/"), 404, "not_found")


def test_token_of_a_deactivated_creator_is_401_token_invalid(world):
    _, raw = _make(world, world.member)
    User.objects.filter(pk=world.member.pk).update(is_active=False)
    assert_error(_bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/"), 401, "token_invalid")


def test_expired_token_is_401_token_expired(world):
    token, raw = _make(world, world.member)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(_bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/"), 401, "token_expired")


def test_token_with_future_expiry_works(world):
    _, raw = _make(world, world.member, expires_at=timezone.now() + timedelta(hours=1))
    assert _bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/").status_code == 200


def test_revoked_token_is_401_token_revoked(world):
    token, raw = _make(world, world.member)
    api_token_revoke(token=token, actor=world.member)
    assert_error(_bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/"), 401, "token_revoked")


def test_unknown_token_is_401_token_invalid(world):
    _, raw = _make(world, world.member)
    wrong = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert_error(_bearer(wrong).get(f"/api/v1/orgs/{world.org.slug}/"), 401, "token_invalid")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tail=st.text(alphabet=string.ascii_letters + string.digits + "_-.~+/=", max_size=80))
def test_any_malformed_kore_token_is_401_token_invalid(world, tail):
    response = _bearer(f"kore_{tail}").get(f"/api/v1/orgs/{world.org.slug}/")
    assert_error(response, 401, "token_invalid")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_use_sets_last_used_at(world):
    token, raw = _make(world, world.member)
    before = timezone.now()
    _bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now()


def test_last_used_at_is_refreshed_when_older_than_a_minute(world):
    token, raw = _make(world, world.member)
    old = timezone.now() - timedelta(hours=3)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    _bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/")
    token.refresh_from_db()
    assert token.last_used_at > old + timedelta(hours=2)


def test_token_cannot_create_tokens(world):
    _, raw = _make(world, world.owner, Role.OWNER)
    response = _bearer(raw).post(_url(world), {"name": "child"}, format="json")
    assert_error(response, 403, "human_only")
    assert ApiToken.objects.count() == 1


def test_token_cannot_revoke_tokens(world):
    other, _ = _make(world, world.admin, Role.VIEWER, name="victim")
    _, raw = _make(world, world.owner, Role.OWNER)
    assert_error(_bearer(raw).delete(_detail(world, other.pk)), 403, "human_only")
    other.refresh_from_db()
    assert other.revoked_at is None


# --- List and revoke ---------------------------------------------------------------------------
def test_non_admin_sees_only_their_own_tokens(world):
    mine, _ = _make(world, world.member, name="mine")
    _make(world, world.admin, name="theirs")
    response = client_for(world.member).get(_url(world))
    assert [t["id"] for t in response.json()["results"]] == [mine.pk]


def test_admin_sees_every_token_of_the_org(world):
    a, _ = _make(world, world.member, name="a")
    b, _ = _make(world, world.viewer, name="b")
    response = client_for(world.admin).get(_url(world))
    assert {t["id"] for t in response.json()["results"]} == {a.pk, b.pk}


def test_list_does_not_show_other_orgs_tokens(world):
    api_token_create(
        organization=world.other_org,
        creator=world.outsider,
        creator_role=Role.OWNER,
        name="elsewhere",
        role=Role.VIEWER,
    )
    assert client_for(world.owner).get(_url(world)).json()["results"] == []


def test_creator_revokes_their_own_token(world):
    token, _ = _make(world, world.viewer)
    response = client_for(world.viewer).delete(_detail(world, token.pk))
    assert response.status_code == 200, response.json()
    assert response.json()["revoked_at"] is not None
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_non_admin_cannot_revoke_someone_elses_token(world):
    token, _ = _make(world, world.admin)
    assert_error(client_for(world.member).delete(_detail(world, token.pk)), 404, "not_found")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_admin_revokes_anyones_token(world):
    token, raw = _make(world, world.member)
    assert client_for(world.admin).delete(_detail(world, token.pk)).status_code == 200
    assert_error(_bearer(raw).get(f"/api/v1/orgs/{world.org.slug}/"), 401, "token_revoked")


def test_revoking_twice_keeps_the_first_time_and_one_event(world):
    token, _ = _make(world, world.member)
    client = client_for(world.member)
    first = client.delete(_detail(world, token.pk)).json()["revoked_at"]
    second = client.delete(_detail(world, token.pk))
    assert second.status_code == 200
    assert second.json()["revoked_at"] == first
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.TOKEN_REVOKED).count() == 1


def test_revoke_unknown_token_is_404(world):
    assert_error(client_for(world.admin).delete(_detail(world, 999999)), 404, "not_found")


def test_token_revoked_records_a_security_event(world):
    token, _ = _make(world, world.member)
    response = client_for(world.admin).delete(_detail(world, token.pk), REMOTE_ADDR="203.0.113.8")
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.TOKEN_REVOKED)
    assert event.actor == world.admin
    assert event.organization == world.org
    assert event.ip == "203.0.113.8"
    assert event.request_id == response["X-Request-ID"]
    assert event.detail == {"token": token.prefix}


# --- Outsiders -----------------------------------------------------------------------------------
def test_outsider_list_is_404(world):
    assert_other_org_is_404(world.outsider, "get", _url(world))


def test_outsider_create_is_404(world):
    assert_other_org_is_404(world.outsider, "post", _url(world), {"name": "x"})
    assert not ApiToken.objects.exists()


def test_outsider_revoke_is_404(world):
    token, _ = _make(world, world.member)
    assert_other_org_is_404(world.outsider, "delete", _detail(world, token.pk))
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_through_another_orgs_slug_is_404(world):
    token, _ = _make(world, world.member)
    url = f"/api/v1/orgs/{world.other_org.slug}/api-tokens/{token.pk}/"
    assert_error(client_for(world.outsider).delete(url), 404, "not_found")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_unauthenticated_is_401(world):
    assert_error(APIClient().get(_url(world)), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["get", "post"])
def test_outsiders_token_is_404_on_this_org(world, method):
    _, raw = api_token_create(
        organization=world.other_org,
        creator=world.outsider,
        creator_role=Role.OWNER,
        name="x",
        role=Role.OWNER,
    )
    response = getattr(_bearer(raw), method)(_url(world), {"name": "x"}, format="json")
    assert_error(response, 404, "not_found")
