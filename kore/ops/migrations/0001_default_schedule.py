"""The default beat schedule, editable afterwards in the admin (django-celery-beat)."""

from django.conf import settings
from django.db import migrations

SCHEDULE = [
    # name, task, minute, hour
    ("Flush expired tokens", "kore.ops.flush_expired_tokens", "15", "3"),
    ("Purge expired idempotency keys", "kore.ops.purge_idempotency_keys", "25", "*"),
    ("Purge deleted transactions past 30 days", "kore.ops.purge_deleted_transactions", "45", "3"),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULE:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=settings.CELERY_TIMEZONE,
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULE]).delete()


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create, remove)]
