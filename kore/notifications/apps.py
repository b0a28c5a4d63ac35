from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "kore.notifications"
    label = "notifications"
    verbose_name = "Notifications"
