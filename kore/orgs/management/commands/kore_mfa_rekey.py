"""Encrypt every two-factor secret with the newest key of KORE_MFA_KEYS (after a rotation)."""

from typing import Any

from django.core.management.base import BaseCommand

from kore.orgs.mfa import mfa_secrets_rekey


class Command(BaseCommand):
    help = "Re-encrypt TOTP secrets and recovery-code seeds with the newest KORE_MFA_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        count = mfa_secrets_rekey()
        self.stdout.write(f"Re-encrypted the secrets of {count} authenticators.")
