from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "kore.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from . import audit  # noqa: F401  (fills request id and API token into history rows)
