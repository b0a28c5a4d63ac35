"""Reads. Tenant data is always reached through the caller's memberships."""

import zoneinfo
from datetime import date, datetime
from functools import cache
from typing import Any

from allauth.mfa.models import Authenticator
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Exists, F, Model, QuerySet
from django.utils import timezone

from kore.core.prepared import prepared_cursor

from .models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    RevokedAccessToken,
    SecurityEvent,
    User,
)


def access_token_is_revoked(*, jti: str) -> bool:
    return RevokedAccessToken.objects.filter(jti=jti, expires_at__gt=timezone.now()).exists()


@cache  # every authenticated request builds these: once per process is enough
def _columns(model: type[Model], alias: str) -> tuple[str, list[str]]:
    fields = model._meta.concrete_fields
    return ", ".join(f'{alias}."{f.column}"' for f in fields), [f.attname for f in fields]


def _valid_id(value: object) -> int | None:
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else None


def user_for_access_token(*, user_id: object, jti: str, org_slug: str | None = None) -> User | None:
    """The active user of an access token, annotated ``token_revoked``: one query per request.

    This runs on every API request, so on PostgreSQL it is one hand-written statement rather
    than the ORM's (same result, a fraction of the Python). With ``org_slug`` (the request's
    ``/orgs/{slug}/`` route) the same statement also reads the person's membership there, which
    ``membership_get`` then answers from instead of a second round trip.
    """
    pk = _valid_id(user_id)
    if pk is None:
        return None
    now = timezone.now()
    if connection.vendor != "postgresql":
        revoked = RevokedAccessToken.objects.filter(jti=jti, expires_at__gt=now)
        return (
            User.objects.filter(pk=pk, is_active=True)
            .annotate(token_revoked=Exists(revoked))
            .first()
        )
    columns, names = _columns(User, "u")
    revoked_sql = (
        'EXISTS (SELECT 1 FROM orgs_revokedaccesstoken r WHERE r."jti" = %s '
        'AND r."expires_at" > %s)'
    )
    if org_slug is None:
        sql = (
            f'SELECT {columns}, {revoked_sql} FROM orgs_user u WHERE u."id" = %s AND u."is_active"'  # noqa: S608
        )
        params: list[Any] = [jti, now, pk]
    else:
        m_columns, _ = _columns(Membership, "m")
        o_columns, _ = _columns(Organization, "o")
        sql = (
            f"SELECT {columns}, {revoked_sql}, {m_columns}, {o_columns} FROM orgs_user u "  # noqa: S608
            'LEFT JOIN orgs_organization o ON o."slug" = %s '
            'LEFT JOIN orgs_membership m ON m."organization_id" = o."id" AND m."user_id" = u."id" '
            'WHERE u."id" = %s AND u."is_active"'
        )
        params = [jti, now, org_slug, pk]
    with prepared_cursor() as cursor:  # planned once per connection
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    user = User.from_db(DEFAULT_DB_ALIAS, names, row[: len(names)])
    user.token_revoked = row[len(names)]  # type: ignore[attr-defined]
    if org_slug is not None:
        membership = _membership_from_row(user, row[len(names) + 1 :])
        user.memberships_read = {org_slug: membership}
    return user


def _membership_from_row(user: User, row: tuple[object, ...]) -> Membership | None:
    """A membership and its organisation from their columns in concrete-field order, or None."""
    _, m_names = _columns(Membership, "m")
    _, o_names = _columns(Organization, "o")
    if row[0] is None:  # no membership row (or no such organisation)
        return None
    split = len(m_names)
    membership = Membership.from_db(DEFAULT_DB_ALIAS, m_names, row[:split])
    membership.organization = Organization.from_db(DEFAULT_DB_ALIAS, o_names, row[split:])
    membership.user = user
    return membership


def organization_list(*, user: User) -> QuerySet[Organization]:
    """Organisations the person belongs to, with their role annotated as ``my_role``."""
    return (
        Organization.objects.filter(memberships__user=user)
        .annotate(my_role=F("memberships__role"))
        .order_by("name", "id")
    )


def membership_get(*, user: User, slug: str) -> Membership | None:
    """The person's membership of the organisation ``slug``, with the organisation loaded."""
    already_read: dict[str, Membership | None] = getattr(user, "memberships_read", {})
    if slug in already_read:  # read with the user by the authentication's query
        return already_read[slug]
    if connection.vendor != "postgresql":
        return (
            Membership.objects.select_related("organization")
            .filter(user=user, organization__slug=slug)
            .first()
        )
    m_columns, _ = _columns(Membership, "m")
    o_columns, _ = _columns(Organization, "o")
    sql = (
        f"SELECT {m_columns}, {o_columns} FROM orgs_membership m "  # noqa: S608
        'JOIN orgs_organization o ON o."id" = m."organization_id" '
        'WHERE m."user_id" = %s AND o."slug" = %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, slug])
        row = cursor.fetchone()
    return None if row is None else _membership_from_row(user, row)


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("created_at", "id")
    )


def membership_get_in_org(*, organization: Organization, membership_id: int) -> Membership | None:
    return (
        Membership.objects.select_related("user")
        .filter(organization=organization, pk=membership_id)
        .first()
    )


def invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization, accepted_at__isnull=True).order_by(
        "-created_at"
    )


def invitation_get_in_org(*, organization: Organization, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(organization=organization, pk=invitation_id).first()


def api_token_list(*, organization: Organization, user: User | None = None) -> QuerySet[ApiToken]:
    """Tokens of the organisation; only the person's own when ``user`` is given."""
    tokens = ApiToken.objects.filter(organization=organization).select_related("created_by")
    if user is not None:
        tokens = tokens.filter(created_by=user)
    return tokens.order_by("-created_at", "-id")


def security_event_list(*, organization: Organization) -> QuerySet[SecurityEvent]:
    return (
        SecurityEvent.objects.filter(organization=organization)
        .select_related("actor", "actor_token")
        .order_by("-created_at", "-id")
    )


def second_factor_enabled(*, user: User) -> bool:
    """Whether the person turned two-factor sign-in (TOTP) on."""
    return bool(Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists())


def organization_today(*, organization: Organization, now: datetime | None = None) -> date:
    """The date in the organisation's time zone: where its "today" and "this month" start."""
    moment = now or timezone.now()
    return moment.astimezone(zoneinfo.ZoneInfo(organization.time_zone)).date()
