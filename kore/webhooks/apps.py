from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "kore.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
