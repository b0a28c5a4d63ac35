"""Reads. Tenant data is always reached through the caller's memberships."""

from django.db.models import Exists, F, QuerySet
from django.utils import timezone

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


def user_for_access_token(*, user_id: object, jti: str) -> User | None:
    """The active user of an access token, annotated ``token_revoked``: one query per request."""
    if (
        not isinstance(user_id, int | str)
        or not str(user_id).isascii()
        or not str(user_id).isdigit()
    ):
        return None
    revoked = RevokedAccessToken.objects.filter(jti=jti, expires_at__gt=timezone.now())
    return (
        User.objects.filter(pk=int(user_id), is_active=True)
        .annotate(token_revoked=Exists(revoked))
        .first()
    )


def organization_list(*, user: User) -> QuerySet[Organization]:
    """Organisations the person belongs to, with their role annotated as ``my_role``."""
    return (
        Organization.objects.filter(memberships__user=user)
        .annotate(my_role=F("memberships__role"))
        .order_by("name", "id")
    )


def membership_get(*, user: User, slug: str) -> Membership | None:
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
    )


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
