from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "kore.ledger"
    label = "ledger"
    verbose_name = "Ledger"
