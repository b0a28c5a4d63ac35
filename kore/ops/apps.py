from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kore.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from celery import signals

        from . import metrics

        # Every task's count and duration, in the worker (and in-process in eager mode).
        signals.task_prerun.connect(metrics.task_prerun, weak=False)
        signals.task_postrun.connect(metrics.task_postrun, weak=False)
