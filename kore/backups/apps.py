from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "kore.backups"
    label = "backups"
    verbose_name = "Backups"
