from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kore.core"
    label = "core"
