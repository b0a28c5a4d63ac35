from django.apps import AppConfig


class PayeesConfig(AppConfig):
    name = "kore.payees"
    label = "payees"
    verbose_name = "Payees and rules"
