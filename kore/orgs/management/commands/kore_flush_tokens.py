"""Delete expired refresh-token records and revoked access-token ids. Run on a schedule."""

from typing import Any

from django.core.management.base import BaseCommand

from kore.orgs.services import tokens_flush_expired


class Command(BaseCommand):
    help = "Delete expired JWT blacklist/outstanding rows and expired revoked-jti rows."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = tokens_flush_expired()
        self.stdout.write(f"Deleted {deleted} expired token rows.")
