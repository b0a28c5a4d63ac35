from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kore.demo"
    label = "demo"
    verbose_name = "Demo data"
