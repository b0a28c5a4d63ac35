from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "kore.core"
    label = "core"

    def ready(self) -> None:
        from . import audit  # noqa: F401  (its receiver stamps request id and API token on history)
        from .converters import IdConverter

        # Before any URLconf is imported: every app's urls.py spells its ids <id:…>.
        register_converter(IdConverter, "id")
