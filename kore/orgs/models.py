"""People, organisations, memberships and the credentials that reach them."""

import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from simple_history.models import HistoricalRecords

from kore.core.audit import AuditFields


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login; it is stored lower-case and unique."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # When the password changed or two-factor sign-in was turned on: JWTs issued before it are
    # refused, and (folded into the session hash) sessions opened before it end.
    credentials_changed_at = models.DateTimeField(null=True, blank=True)
    # Not a column: the memberships kore.orgs.selectors read with the user (one query a request).
    memberships_read: "dict[str, Membership | None]"

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(Lower("email"), name="orgs_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw_password: str | None) -> None:
        """Set the password and stamp ``credentials_changed_at`` (save both)."""
        super().set_password(raw_password)
        self.credentials_changed_at = timezone.now()

    def check_password(self, raw_password: str) -> bool:
        """Django's check; upgrading the hash of the same password is not a credential change."""

        def rehash(raw: str) -> None:
            stamp = self.credentials_changed_at
            super(User, self).set_password(raw)
            self.credentials_changed_at = stamp
            self._password = None
            self.save(update_fields=["password"])

        return check_password(raw_password, self.password, rehash)

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's HMAC of the password hash, with ``credentials_changed_at`` folded in, so
        turning two-factor sign-in on also ends the person's other sessions."""
        if self.credentials_changed_at is None:  # never changed since: Django's own hash
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc,no-any-return]
        return salted_hmac(
            "kore.orgs.User.get_session_auth_hash",
            f"{self.password}|{self.credentials_changed_at.isoformat()}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Unknown time zone.", code="invalid_time_zone")


class Organization(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    default_currency = models.CharField(max_length=3, default="EUR")
    # Books closed through this day for every account: no transaction dated on or before it is
    # created, changed, deleted or restored (kore.ledger.services.periods). People move it.
    lock_date = models.DateField(null=True, blank=True)
    # How many days apart an imported row and a transaction entered by hand (or a bank-pending
    # row and its booked successor) may be dated and still be taken for one another.
    import_match_days = models.PositiveSmallIntegerField(default=3, db_default=3)
    # The currency reports add everything up in (kore.fx); empty means ``default_currency``.
    reporting_currency = models.CharField(max_length=3, blank=True, default="", db_default="")
    # How old (in days, before the amount's date) an exchange rate may be and still convert it.
    max_rate_age_days = models.PositiveSmallIntegerField(default=7, db_default=7)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(default_currency__regex=r"^[A-Z]{3}$"),
                name="orgs_organization_currency_iso",
            ),
            models.CheckConstraint(
                condition=models.Q(reporting_currency__regex=r"^([A-Z]{3})?$"),
                name="orgs_organization_reporting_currency_iso",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(bases=[AuditFields])

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organization", "user"], name="orgs_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Invitation(models.Model):
    """An offer to join an organisation. The token is shown once; its SHA-256 is stored."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"


class ApiToken(models.Model):
    """A machine client's credential for one organisation, with a role no higher than its creator's.

    The secret is ``kore_<prefix>_<secret>``; only the prefix and the SHA-256 of the whole token
    are stored.
    """

    is_api_token = True

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class RevokedAccessToken(models.Model):
    """An access token's ``jti`` refused until the token would have expired anyway (logout)."""

    jti = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.jti


class SecurityEvent(models.Model):
    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded"
        LOGIN_FAILED = "login_failed"
        LOGOUT = "logout"
        TOKEN_CREATED = "api_token_created"  # noqa: S105 - an event name
        TOKEN_REVOKED = "api_token_revoked"  # noqa: S105 - an event name
        ROLE_CHANGED = "role_changed"
        MEMBER_REMOVED = "member_removed"
        INVITATION_CREATED = "invitation_created"
        INVITATION_ACCEPTED = "invitation_accepted"
        SIGNUP = "signup"
        LOCK_DATE_CHANGED = "lock_date_changed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    actor_token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True)
    email = models.EmailField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.email} {self.created_at:%Y-%m-%d %H:%M}"
