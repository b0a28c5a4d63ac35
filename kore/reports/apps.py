from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "kore.reports"
    label = "reports"
