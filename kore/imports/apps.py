from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "kore.imports"
    label = "imports"
    verbose_name = "Imports"
