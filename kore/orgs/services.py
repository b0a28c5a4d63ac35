"""Writes for identity and organisations: the only code that changes these rows."""

import base64
import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.text import slugify
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from kore.core.exceptions import (
    Conflict,
    KoreError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    Unauthenticated,
)
from kore.core.money import is_currency
from kore.core.request_id import get_request_id
from kore.notifications.services import invitation_email_enqueue, password_reset_email_enqueue

from .mfa import decrypt
from .models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    RevokedAccessToken,
    Role,
    SecurityEvent,
    User,
    role_at_least,
)

API_TOKEN_PREFIX = "kore_"  # noqa: S105 - a public marker, not a secret
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _password_errors(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise RuleViolation(
            exc.messages[0],
            code="password_too_weak",
            fields={
                "password": [{"code": "password_too_weak", "message": m} for m in exc.messages]
            },
        ) from exc


def security_event_record(
    *,
    kind: str,
    actor: User | None = None,
    actor_token: ApiToken | None = None,
    organization: Organization | None = None,
    email: str = "",
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> SecurityEvent:
    """Keep a security-relevant event with who, when, from where and the request id."""
    return SecurityEvent.objects.create(
        kind=kind,
        actor=actor,
        actor_token=actor_token,
        organization=organization,
        email=email or (actor.email if actor else ""),
        ip=ip,
        request_id=get_request_id(),
        detail=detail or {},
    )


# --- People -----------------------------------------------------------------------------------
def user_create(*, email: str, password: str, full_name: str = "") -> User:
    """Create a person; the email must be new and the password pass the validators."""
    email = email.strip().lower()
    candidate = User(email=email, full_name=full_name)
    _password_errors(password, candidate)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("An account with this email exists.", code="email_taken")
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError as exc:  # a concurrent signup with the same email
        raise Conflict("An account with this email exists.", code="email_taken") from exc


def user_update(*, user: User, full_name: str) -> User:
    user.full_name = full_name
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name"])
    return user


# --- Sessions: JWT pair, refresh, logout -------------------------------------------------------
def _token_pair(user: User) -> dict[str, str]:
    """A fresh pair whose ``iat`` keeps the microseconds (a JWT NumericDate may be fractional),
    so a credential change in the same second as the issue still tells before from after."""
    refresh = RefreshToken.for_user(user)
    issued_at = refresh.current_time.timestamp()
    refresh["iat"] = issued_at
    access = refresh.access_token
    access["iat"] = issued_at
    return {"access": str(access), "refresh": str(refresh)}


def token_issued_before_credentials_changed(*, user: User, issued_at: object) -> bool:
    """True when a JWT issued at ``issued_at`` predates the person's last credential change
    (password set or reset, two-factor sign-in turned on): such tokens are refused."""
    changed = user.credentials_changed_at
    if changed is None:
        return False
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        return True
    return issued_at < changed.timestamp()


def token_pair_issue(*, user: User) -> dict[str, str]:
    pair = _token_pair(user)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return pair


def _refresh_token_load(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except ExpiredTokenError as exc:
        raise Unauthenticated("The refresh token has expired.", code="token_expired") from exc
    except TokenError as exc:
        if "blacklisted" in str(exc):
            raise Unauthenticated(
                "The refresh token was already used or revoked.", code="token_blacklisted"
            ) from exc
        raise Unauthenticated("The refresh token is not valid.", code="token_invalid") from exc


def token_pair_refresh(*, raw_refresh: str) -> dict[str, str]:
    """Rotate: the old refresh token is blacklisted and a new pair issued."""
    old = _refresh_token_load(raw_refresh)
    user = User.objects.filter(pk=old.get("user_id"), is_active=True).first()
    if user is None:
        raise Unauthenticated("The token's user is unknown or inactive.", code="token_invalid")
    if token_issued_before_credentials_changed(user=user, issued_at=old.get("iat")):
        raise Unauthenticated(
            "The refresh token was issued before the password or two-factor sign-in changed.",
            code="token_revoked",
        )
    with transaction.atomic():
        # The blacklist row is unique per token: of two concurrent rotations that both passed
        # the blacklist check, only the one that creates the row gets a new pair.
        # simplejwt annotates blacklist() as returning the row; it returns get_or_create's pair.
        _, created = cast("tuple[object, bool]", old.blacklist())
        if not created:
            raise Unauthenticated(
                "The refresh token was already used or revoked.", code="token_blacklisted"
            )
        return _token_pair(user)


def session_logout(
    *, user: User, raw_refresh: str | None, access: AccessToken | None, ip: str | None
) -> None:
    """Blacklist the refresh token and refuse the access token's ``jti`` until it expires."""
    refresh: RefreshToken | None = None
    if raw_refresh:
        try:
            refresh = _refresh_token_load(raw_refresh)
        except Unauthenticated as exc:
            # Expired or already blacklisted: nothing left to revoke, and the access token must
            # still be, or a client whose refresh lapsed could never log out.
            if exc.code not in ("token_expired", "token_blacklisted"):
                raise
    if refresh is not None:
        if str(refresh.get("user_id")) != str(user.pk):
            raise PermissionDenied("That refresh token belongs to someone else.")
        refresh.blacklist()
    if access is not None:
        expires = datetime.fromtimestamp(int(access["exp"]), tz=UTC)
        RevokedAccessToken.objects.get_or_create(
            jti=str(access["jti"]), defaults={"expires_at": expires}
        )
    security_event_record(kind=SecurityEvent.Kind.LOGOUT, actor=user, ip=ip)


def tokens_flush_expired() -> int:
    """Delete revoked-jti rows and blacklisted/outstanding refresh tokens past their expiry."""
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    now = timezone.now()
    revoked, _ = RevokedAccessToken.objects.filter(expires_at__lte=now).delete()
    outstanding, _ = OutstandingToken.objects.filter(expires_at__lte=now).delete()
    return revoked + outstanding


# --- Password reset -------------------------------------------------------------------------------
def password_reset_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    base = settings.KORE_PUBLIC_URL.rstrip("/")
    return f"{base}/password-reset/confirm/?uid={uid}&token={token}"


def password_reset_request(*, email: str) -> None:
    """Email a reset link when an active account has this address; say nothing either way."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return
    password_reset_email_enqueue(user_id=user.pk)  # the worker makes the link


def password_reset_confirm(*, uid: str, token: str, password: str) -> User:
    """Set a new password from a reset link; the link then stops working (its hash changes),
    and so do the person's sessions and JWTs issued before it (``credentials_changed_at``)."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
        user: User | None = User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise RuleViolation(
            "The password reset link is invalid, used or expired; ask for a new one.",
            code="password_reset_invalid",
        )
    _password_errors(password, user)
    with transaction.atomic():
        user.set_password(password)  # also stamps credentials_changed_at
        user.save(update_fields=["password", "credentials_changed_at"])
        _refresh_tokens_blacklist(user)
    return user


def _refresh_tokens_blacklist(user: User) -> None:
    """Blacklist every refresh token of the person that has not expired yet."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now())
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True
    )


# --- Two-factor sign-in -------------------------------------------------------------------------
# The one check of a second factor, for every path that turns a password (or a Google account)
# into a credential: the web sign-in, the token endpoint, the admin (through the web sign-in)
# and "Sign in with Google". Wrong codes are counted per person in the database, so starting
# the sign-in over does not reset the count.
MFA_MAX_FAILURES = 5
MFA_LOCK_SECONDS = 15 * 60
MFA_CHALLENGE_SECONDS = 5 * 60
_CHALLENGE_SALT = "kore.orgs.mfa-challenge"


def _ascii_digits(code: str) -> bool:
    return code.isascii() and code.isdigit()  # str.isdigit alone also takes e.g. Arabic digits


def _totp_counter(secret: str, code: str) -> int | None:
    """The time step whose TOTP value ``code`` is (within allauth's tolerance), or None."""
    if not _ascii_digits(code):
        return None
    for counter in yield_hotp_counters_from_time():
        if hmac.compare_digest(format_hotp_value(hotp_value(secret, counter)), code):
            return int(counter)
    return None


def _second_factor_accept(totp: Authenticator, code: str) -> bool:
    """A TOTP code of a time step later than the last one accepted, or an unused recovery code
    (then spent). Runs with ``totp`` locked, so two requests cannot both use one code."""
    counter = _totp_counter(decrypt(totp.data["secret"]), code) if len(code) == 6 else None
    if counter is not None and counter > int(totp.data.get("last_counter", -1)):
        totp.data["last_counter"] = counter
        return True
    recovery = Authenticator.objects.filter(
        user_id=totp.user_id, type=Authenticator.Type.RECOVERY_CODES
    ).first()
    return recovery is not None and RecoveryCodes(recovery).validate_code(code)


def second_factor_verify(*, user: User, code: str) -> None:
    """Accept the person's current TOTP code (each once) or one of their unused recovery codes.

    Raises ``mfa_code_invalid`` for a wrong or used code, and ``mfa_locked`` after
    ``MFA_MAX_FAILURES`` wrong codes, until ``MFA_LOCK_SECONDS`` after the last one.
    """
    code = "".join(ch for ch in code if ch not in " -")
    now = time.time()
    with transaction.atomic():
        totp = (
            Authenticator.objects.select_for_update()
            .filter(user=user, type=Authenticator.Type.TOTP)
            .first()
        )
        if totp is None:
            return  # two-factor sign-in is off: nothing to check
        failures = int(totp.data.get("failures", 0))
        wait = int(totp.data.get("failed_at", 0) + MFA_LOCK_SECONDS - now)
        if wait <= 0:
            failures = 0
        elif failures >= MFA_MAX_FAILURES:
            raise _mfa_locked(wait)
        accepted = _ascii_digits(code) and _second_factor_accept(totp, code)
        if accepted:
            totp.data["failures"] = 0
            totp.last_used_at = timezone.now()
        else:
            totp.data["failures"] = failures + 1
            totp.data["failed_at"] = now
        totp.save(update_fields=["data", "last_used_at"])
    if accepted:
        return
    # Raised after the commit: the count must be kept.
    if failures + 1 >= MFA_MAX_FAILURES:
        raise _mfa_locked(MFA_LOCK_SECONDS)
    raise Unauthenticated("The code is wrong or was already used.", code="mfa_code_invalid")


def _mfa_locked(wait: int) -> KoreError:
    return KoreError(
        f"Too many wrong codes. Try again in {(wait + 59) // 60} minutes.",
        code="mfa_locked",
        status_code=429,
        headers={"Retry-After": str(wait)},
    )


def totp_activate(*, user: User, secret: str, code: str) -> list[str]:
    """Turn two-factor sign-in on with a code of ``secret``; returns the new recovery codes.

    Every other session and JWT of the person ends (``credentials_changed_at``): whoever held
    one signed in with the password alone.
    """
    counter = _totp_counter(secret, "".join(code.split())) if secret else None
    if counter is None:
        raise RuleViolation(
            "That code is not right. Try the next one.", code="mfa_setup_code_invalid"
        )
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            raise Conflict("Two-factor sign-in is already on.", code="conflict")
        totp = TOTP.activate(user, secret).instance
        totp.data["last_counter"] = counter  # the activation code cannot sign in
        totp.save(update_fields=["data"])
        Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).delete()
        codes: list[str] = RecoveryCodes.activate(user).generate_codes()
        user.credentials_changed_at = timezone.now()
        user.save(update_fields=["credentials_changed_at"])
        _refresh_tokens_blacklist(user)
    return codes


def totp_deactivate(*, user: User, code: str) -> None:
    """Turn two-factor sign-in off; a current code (or a recovery code) is required."""
    second_factor_verify(user=user, code=code)
    Authenticator.objects.filter(
        user=user, type__in=(Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)
    ).delete()


def mfa_challenge_issue(*, user: User) -> str:
    """A signed token naming the person whose password was right, for the second step."""
    return signing.dumps(
        {"user": user.pk, "hash": user.get_session_auth_hash()[:16]}, salt=_CHALLENGE_SALT
    )


def mfa_challenge_user(*, challenge: str) -> User:
    """The person a challenge names, while it is fresh and their credentials unchanged."""
    try:
        payload = signing.loads(challenge, salt=_CHALLENGE_SALT, max_age=MFA_CHALLENGE_SECONDS)
    except signing.BadSignature:
        payload = None
    user = None
    if isinstance(payload, dict) and isinstance(payload.get("user"), int):
        user = User.objects.filter(pk=payload["user"], is_active=True).first()
    if user is None or not hmac.compare_digest(
        user.get_session_auth_hash()[:16],
        str(payload.get("hash", "")) if isinstance(payload, dict) else "",
    ):
        raise Unauthenticated(
            "The two-factor challenge is invalid or expired; sign in again.",
            code="mfa_challenge_invalid",
        )
    return user


# --- Organisations and memberships --------------------------------------------------------------
def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _organization_clean(org: Organization) -> None:
    """Model validation as Kore errors: a taken slug is a 409, any other broken rule a 422."""
    try:
        org.full_clean()
    except DjangoValidationError as exc:
        errors = getattr(exc, "error_dict", None) or {"non_field_errors": exc.error_list}
        if any(e.code == "unique" for e in errors.get("slug", [])):
            raise Conflict("That slug is taken.", code="slug_taken") from exc
        fields = {
            name: [{"code": e.code or "invalid", "message": " ".join(e.messages)} for e in errs]
            for name, errs in errors.items()
        }
        raise RuleViolation(next(iter(fields.values()))[0]["message"], fields=fields) from exc


def organization_create(
    *,
    creator: User,
    name: str,
    slug: str = "",
    time_zone: str = "UTC",
    default_currency: str = "EUR",
) -> Organization:
    """Create an organisation; its creator becomes the owner."""
    if slug and Organization.objects.filter(slug=slug).exists():
        raise Conflict("That slug is taken.", code="slug_taken")
    org = Organization(
        name=name,
        slug=slug or _unique_slug(name),
        time_zone=time_zone,
        default_currency=default_currency.upper(),
    )
    _organization_clean(org)
    try:
        with transaction.atomic():
            org.save()
            Membership.objects.create(organization=org, user=creator, role=Role.OWNER)
    except IntegrityError as exc:
        raise Conflict("That slug is taken.", code="slug_taken") from exc
    return org


def organization_update(*, organization: Organization, **changes: Any) -> Organization:
    if isinstance(changes.get("default_currency"), str):
        changes["default_currency"] = changes["default_currency"].upper()
    if isinstance(changes.get("reporting_currency"), str):
        changes["reporting_currency"] = changes["reporting_currency"].strip().upper()
        code = changes["reporting_currency"]
        if code and not is_currency(code):
            message = f"{code!r} is not an ISO 4217 currency code."
            raise RuleViolation(
                message,
                code="currency_unknown",
                fields={"reporting_currency": [{"code": "currency_unknown", "message": message}]},
            )
    for field, value in changes.items():
        setattr(organization, field, value)
    _organization_clean(organization)
    organization.save(update_fields=list(changes))
    return organization


def _require_manager(actor_role: str, target_role: str) -> None:
    if not role_at_least(actor_role, Role.ADMIN):
        raise PermissionDenied("Only owners and admins manage members.")
    if target_role == Role.OWNER and actor_role != Role.OWNER:
        raise PermissionDenied("Only owners manage owners.")


def _membership_lock(membership: Membership) -> Membership:
    """Re-read ``membership`` under its organisation's membership lock (inside a transaction).

    Every role change and removal in one organisation takes the organisation row's lock first, so
    "does another owner remain?" and the write after it never interleave with a concurrent change
    (locking owner rows one by one instead deadlocked when two owners demoted each other). The
    checks then run on the current role, not on the copy the caller loaded before the lock.
    """
    list(
        Organization.objects.select_for_update(no_key=True)
        .filter(pk=membership.organization_id)
        .values_list("pk", flat=True)
    )
    current = (
        Membership.objects.select_related("organization", "user")
        .filter(pk=membership.pk, organization_id=membership.organization_id)
        .first()
    )
    if current is None:
        raise NotFound()
    return current


def _keep_an_owner(leaving: Membership) -> None:
    """Refuse to take the owner role from the last owner (call under ``_membership_lock``)."""
    others = Membership.objects.filter(
        organization_id=leaving.organization_id, role=Role.OWNER
    ).exclude(pk=leaving.pk)
    if leaving.role == Role.OWNER and not others.exists():
        raise Conflict("An organisation must keep at least one owner.", code="last_owner")


def membership_change_role(
    *, actor: User, actor_role: str, membership: Membership, role: str, ip: str | None = None
) -> Membership:
    """Change a member's role (owners and admins; nobody grants above their own role)."""
    with transaction.atomic():
        membership = _membership_lock(membership)
        _require_manager(actor_role, membership.role)
        if not role_at_least(actor_role, role):
            raise RuleViolation("A role above your own cannot be granted.", code="role_too_high")
        if role != Role.OWNER:
            _keep_an_owner(membership)
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        security_event_record(
            kind=SecurityEvent.Kind.ROLE_CHANGED,
            actor=actor,
            organization=membership.organization,
            email=membership.user.email,
            ip=ip,
            detail={"from": previous, "to": role, "membership_id": membership.pk},
        )
    return membership


def membership_remove(
    *, actor: User, actor_role: str, membership: Membership, ip: str | None = None
) -> None:
    """Remove a member (owners/admins, or the member leaving); the last owner stays."""
    with transaction.atomic():
        membership = _membership_lock(membership)
        if membership.user_id != actor.pk:
            _require_manager(actor_role, membership.role)
        _keep_an_owner(membership)
        membership.delete()
        security_event_record(
            kind=SecurityEvent.Kind.MEMBER_REMOVED,
            actor=actor,
            organization=membership.organization,
            email=membership.user.email,
            ip=ip,
        )


# --- Invitations ---------------------------------------------------------------------------------
def invitation_accept_url(raw_token: str) -> str:
    return f"{settings.KORE_PUBLIC_URL.rstrip('/')}/invitations/accept/?token={raw_token}"


def invitation_token(invitation: Invitation, *, secret: str | bytes | None = None) -> str:
    """The invitation's link token: an HMAC-SHA256 (SECRET_KEY) of its id and creation time.

    Derived rather than random so the worker that emails it needs only the id (the token never
    passes through the broker); the row keeps only its SHA-256, as before.
    """
    stamp = invitation.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")
    mac = salted_hmac(
        "kore.orgs.invitation", f"{invitation.pk}:{stamp}", secret=secret, algorithm="sha256"
    )
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def invitation_token_find(invitation: Invitation) -> str | None:
    """The token whose SHA-256 the row holds, under SECRET_KEY or one of SECRET_KEY_FALLBACKS."""
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        token = invitation_token(invitation, secret=secret)
        if hmac.compare_digest(_sha256(token), invitation.token_hash):
            return token
    return None


def invitation_create(
    *,
    organization: Organization,
    invited_by: User,
    inviter_role: str,
    email: str,
    role: str,
    ip: str | None = None,
) -> tuple[Invitation, str]:
    """Invite someone by email. Returns the invitation and its one-time token."""
    if not role_at_least(inviter_role, Role.ADMIN):
        raise PermissionDenied("Only owners and admins invite.")
    if not role_at_least(inviter_role, role):
        raise RuleViolation("A role above your own cannot be granted.", code="role_too_high")
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise Conflict("That person is already a member.", code="already_member")
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=secrets.token_hex(32),  # nobody's token: replaced once the id is known
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(hours=settings.KORE_INVITATION_TTL_HOURS),
    )
    raw = invitation_token(invitation)
    invitation.token_hash = _sha256(raw)
    invitation.save(update_fields=["token_hash"])
    security_event_record(
        kind=SecurityEvent.Kind.INVITATION_CREATED,
        actor=invited_by,
        organization=organization,
        email=email,
        ip=ip,
        detail={"role": role},
    )
    invitation_email_enqueue(invitation_id=invitation.pk)  # the worker derives the link
    return invitation, raw


def invitation_revoke(*, invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise Conflict("The invitation was already accepted.", code="invitation_used")
    invitation.delete()


def invitation_accept(
    *,
    raw_token: str,
    user: User | None,
    password: str = "",
    full_name: str = "",
    ip: str | None = None,
) -> Membership:
    """Join the organisation; creates the account when none exists (even with signup closed)."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organization")
            .filter(token_hash=_sha256(raw_token))
            .first()
        )
        if invitation is None:
            raise RuleViolation("The invitation token is not valid.", code="invitation_invalid")
        if invitation.accepted_at is not None:
            raise Conflict("The invitation was already accepted.", code="invitation_used")
        if invitation.expires_at <= timezone.now():
            raise RuleViolation("The invitation has expired.", code="invitation_expired")
        if user is None:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise Unauthenticated(
                    "An account with this email exists: sign in, then accept the invitation."
                )
            if not password:
                raise RuleViolation(
                    "Choose a password for the new account.",
                    code="password_required",
                    fields={"password": [{"code": "password_required", "message": "Required."}]},
                )
            user = user_create(email=invitation.email, password=password, full_name=full_name)
        elif user.email.lower() != invitation.email:
            raise PermissionDenied("This invitation was sent to another email address.")
        if Membership.objects.filter(organization=invitation.organization, user=user).exists():
            raise Conflict("You are already a member.", code="already_member")
        membership = Membership.objects.create(
            organization=invitation.organization, user=user, role=invitation.role
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        security_event_record(
            kind=SecurityEvent.Kind.INVITATION_ACCEPTED,
            actor=user,
            organization=invitation.organization,
            ip=ip,
            detail={"role": invitation.role, "invitation_id": invitation.pk},
        )
    return membership


# --- API tokens ----------------------------------------------------------------------------------
def api_token_create(
    *,
    organization: Organization,
    creator: User,
    creator_role: str,
    name: str,
    role: str,
    expires_at: datetime | None = None,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token with a role no higher than its creator's. The secret is returned once."""
    if not role_at_least(creator_role, role):
        raise RuleViolation("A token cannot have a role above your own.", code="role_too_high")
    if expires_at is not None and expires_at <= timezone.now():
        raise RuleViolation(
            "The expiry must be in the future.",
            code="expiry_in_past",
            fields={
                "expires_at": [{"code": "expiry_in_past", "message": "Must be in the future."}]
            },
        )
    prefix = secrets.token_hex(4)
    raw = f"{API_TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        organization=organization,
        created_by=creator,
        name=name,
        role=role,
        prefix=prefix,
        token_hash=_sha256(raw),
        expires_at=expires_at,
    )
    security_event_record(
        kind=SecurityEvent.Kind.TOKEN_CREATED,
        actor=creator,
        organization=organization,
        ip=ip,
        detail={"token": prefix, "role": role},
    )
    return token, raw


def api_token_revoke(*, token: ApiToken, actor: User, ip: str | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        security_event_record(
            kind=SecurityEvent.Kind.TOKEN_REVOKED,
            actor=actor,
            organization=token.organization,
            ip=ip,
            detail={"token": token.prefix},
        )
    return token


_TOKEN_SHAPE = re.compile(r"^kore_([0-9a-f]{8})_[A-Za-z0-9_-]{20,}$")


def api_token_authenticate(*, raw: str) -> ApiToken:
    """Find a usable token for a presented secret and note when it was last used."""
    if not _TOKEN_SHAPE.match(raw):
        raise Unauthenticated("The API token is not valid.", code="token_invalid")
    token = (
        ApiToken.objects.select_related("created_by", "organization")
        .filter(token_hash=_sha256(raw))
        .first()
    )
    if token is None or not token.created_by.is_active:
        raise Unauthenticated("The API token is not valid.", code="token_invalid")
    if token.revoked_at is not None:
        raise Unauthenticated("The API token was revoked.", code="token_revoked")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("The API token has expired.", code="token_expired")
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        # One conditional write a minute at most, not one per request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
