"""Create (or refresh) the demo organisation and its demo user. Safe to run repeatedly."""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from kore.orgs.models import Membership, Organization, Role, User
from kore.orgs.services import organization_create

DEMO_SLUG = "demo"
TEAM = (
    ("alex@kore.local", "Alex Admin", Role.ADMIN),
    ("vic@kore.local", "Vic Viewer", Role.VIEWER),
)


def _password_file() -> Path:
    return Path(settings.KORE_DATA_DIR) / "demo-password.txt"


def _demo_password() -> tuple[str, bool]:
    """The configured password, else the one generated on the first run (kept 0600)."""
    if settings.KORE_DEMO_PASSWORD:
        return settings.KORE_DEMO_PASSWORD, False
    path = _password_file()
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), True
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password, encoding="utf-8")
    path.chmod(0o600)
    return password, True


class Command(BaseCommand):
    help = "Create the demo organisation, demo user and sample data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        email = settings.KORE_DEMO_EMAIL.lower()
        password, generated = _demo_password()
        with transaction.atomic():
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email=email, full_name="Demo User"
            )
            user.set_password(password)
            user.save(update_fields=["password"])
            org = Organization.objects.filter(slug=DEMO_SLUG).first() or organization_create(
                creator=user, name="Demo Ltd", slug=DEMO_SLUG, default_currency="EUR"
            )
            Membership.objects.get_or_create(
                organization=org, user=user, defaults={"role": Role.OWNER}
            )
            for member_email, name, role in TEAM:
                member = User.objects.filter(email=member_email).first()
                if member is None:
                    member = User.objects.create_user(email=member_email, full_name=name)
                    member.set_unusable_password()
                    member.save(update_fields=["password"])
                Membership.objects.get_or_create(
                    organization=org, user=member, defaults={"role": role}
                )
        source = (
            "generated, kept in " + str(_password_file()) if generated else "KORE_DEMO_PASSWORD"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organisation '{org.slug}' ready. Sign in as {email} / {password} ({source})."
            )
        )
