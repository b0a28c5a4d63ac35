from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kore.ops"
    label = "ops"
    verbose_name = "Operations"
