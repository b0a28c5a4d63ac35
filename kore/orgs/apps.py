from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "kore.orgs"
    label = "orgs"
    verbose_name = "Identity and organisations"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extensions)
