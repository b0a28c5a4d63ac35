from django.apps import AppConfig


class FxConfig(AppConfig):
    name = "kore.fx"
    label = "fx"
