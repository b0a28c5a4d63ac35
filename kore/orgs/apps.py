from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "kore.orgs"
    label = "orgs"
    verbose_name = "Identity and organisations"
