from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "kore.core"
    label = "core"

    def ready(self) -> None:
        from .converters import IdConverter

        # Before any URLconf is imported: every app's urls.py spells its ids <id:…>.
        register_converter(IdConverter, "id")
