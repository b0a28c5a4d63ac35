"""Create (or refresh) the demo organisation and its demo user. Safe to run repeatedly."""

import random
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

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
            user.save(update_fields=["password", "credentials_changed_at"])
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
        created = _demo_ledger(org, user)
        source = (
            "generated, kept in " + str(_password_file()) if generated else "KORE_DEMO_PASSWORD"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organisation '{org.slug}' ready ({created} sample transactions added). "
                f"Sign in as {email} / {password} ({source})."
            )
        )


def _demo_ledger(org: Organization, user: User) -> int:
    """Accounts, the category tree and a few months of transactions, once, through the services."""
    from kore.demo.seeding import PATTERNS, TREE
    from kore.ledger.models import Account
    from kore.ledger.services.accounts import account_create
    from kore.ledger.services.categories import category_create
    from kore.ledger.services.transactions import transaction_create_many
    from kore.orgs.scoping import OrgContext

    if Account.objects.filter(organization=org).exists():
        return 0
    ctx = OrgContext(organization=org, role=Role.OWNER, user=user, api_token=None)
    accounts = [
        account_create(ctx=ctx, name=name, currency=currency, kind=kind, opening_balance=opening)
        for name, currency, kind, opening in (
            ("Current account", "EUR", "bank", Decimal("2500.00")),
            ("Business card", "EUR", "card", Decimal("0.00")),
            ("UK account", "GBP", "bank", Decimal("800.00")),
        )
    ]
    categories: dict[str, int] = {}
    for root, kind, children in TREE:
        parent = category_create(ctx=ctx, name=root, kind=kind)
        categories[root] = parent.pk
        for child, grandchildren in children.items():
            middle = category_create(ctx=ctx, name=child, kind=kind, parent=parent.pk)
            categories[child] = middle.pk
            for leaf in grandchildren:
                categories[leaf] = category_create(
                    ctx=ctx, name=leaf, kind=kind, parent=middle.pk
                ).pk
    rng = random.Random(7)  # noqa: S311 - sample data, not security
    today = timezone.localdate()
    rows = []
    for day in range(120, 0, -1):
        for _ in range(rng.choice((0, 1, 1, 2))):
            name, _weight, counterparties, descriptions, low, high = rng.choice(PATTERNS)
            account = rng.choice(accounts)
            places = 0 if account.currency == "JPY" else 2
            value = Decimal(str(round(rng.uniform(low, high) / 4, places)))
            income = categories[name] in _income_ids(categories)
            month = (today - timedelta(days=day)).strftime("%B %Y")
            rows.append(
                {
                    "account": account.pk,
                    "occurred_on": today - timedelta(days=day),
                    "amount": value if income else -value,
                    "description": rng.choice(descriptions).format(
                        cp="", m=month, r=f"INV-{rng.randint(10000, 99999)}", n=rng.randint(1, 99)
                    ),
                    "counterparty": rng.choice(counterparties),
                    "category": categories[name],
                    "status": "cleared" if day > 7 else "pending",
                    "tags": ["demo"] if rng.random() < 0.1 else [],
                }
            )
    return len(transaction_create_many(ctx=ctx, rows=rows[:1000]))


def _income_ids(categories: dict[str, int]) -> set[int]:
    from kore.ledger.models import Category

    return set(
        Category.objects.filter(pk__in=categories.values(), kind="income").values_list(
            "pk", flat=True
        )
    )
