from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kore.web"
    label = "web"
    verbose_name = "Web app"
