"""The Celery application's queues: a worker started as the deployments start it runs every task."""

from django.conf import settings

from config.celery_app import app


def test_a_worker_without_queue_options_consumes_every_routed_queue():
    # Compose, the native stack and systemd start `celery worker` with no -Q: the queues it
    # consumes are the app's own (task_queues), and every route must land in one of them.
    consumed = set(app.amqp.queues.keys())
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed <= consumed, f"routed to {routed - consumed}, which no default worker consumes"
    assert settings.CELERY_TASK_DEFAULT_QUEUE in consumed
