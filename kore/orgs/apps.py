from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "kore.orgs"
    label = "orgs"
    verbose_name = "Identity and organisations"

    def ready(self) -> None:
        from django.apps import apps

        # A worker (config.settings.worker) runs without the schema generator.
        if apps.is_installed("drf_spectacular"):
            from . import schema  # noqa: F401  (registers the OpenAPI auth extensions)
