from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "kore.planning"
    label = "planning"
    verbose_name = "Budgets and schedules"
