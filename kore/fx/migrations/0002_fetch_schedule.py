"""The daily rate fetch in the beat schedule; it does nothing until KORE_FX_PROVIDER_URL is set.

At 16:30 UTC: the ECB publishes its reference rates around 16:00 Central European Time.
"""

from django.conf import settings
from django.db import migrations

NAME = "Fetch exchange rates from the provider"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="16",
        day_of_week="1-5",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.CELERY_TIMEZONE,
    )
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "kore.fx.fetch_rates", "crontab": crontab}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("fx", "0001_exchange_rates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
