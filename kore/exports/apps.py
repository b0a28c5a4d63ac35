from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "kore.exports"
    label = "exports"
    verbose_name = "Exports"
