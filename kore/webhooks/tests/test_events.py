"""publish() and the transaction events read from the change feed."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from kore.ledger.services.transactions import transaction_create, transaction_delete
from kore.ledger.tests.factories import AccountFactory
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.webhooks.events import publish, transaction_events_queue
from kore.webhooks.models import WebhookDelivery, WebhookEvent

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def test_publish_queues_one_delivery_per_subscribed_active_endpoint(world):
    wants = WebhookEndpointFactory(organization=world.org, event_types=["export.ready"])
    WebhookEndpointFactory(organization=world.org, event_types=["import.failed"])
    WebhookEndpointFactory(organization=world.org, is_active=False)
    WebhookEndpointFactory(organization=world.other_org)
    event = publish(world.org, "export.ready", {"job_id": 7, "rows": Decimal("1.50")})
    deliveries = list(WebhookDelivery.objects.all())
    assert [(d.endpoint_id, d.event_id, d.event_type) for d in deliveries] == [
        (wants.pk, f"evt_{event.pk}", "export.ready")
    ]
    assert deliveries[0].payload == {"job_id": 7, "rows": "1.50"}


def test_publish_inside_a_rolled_back_transaction_leaves_nothing(world):
    WebhookEndpointFactory(organization=world.org)

    def failing_write() -> None:
        with transaction.atomic():
            publish(world.org, "budget.threshold", {"budget": 1, "threshold": 80})
            raise RuntimeError("the caller's write failed")

    with pytest.raises(RuntimeError):
        failing_write()
    assert WebhookEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


def test_publish_wakes_the_worker_only_when_the_caller_commits(
    world, django_capture_on_commit_callbacks
):
    WebhookEndpointFactory(organization=world.org)
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        publish(world.org, "import.finished", {"import": 3})
        assert callbacks == []
    assert len(callbacks) == 1


def test_publish_refuses_an_unknown_type(world):
    with pytest.raises(ValueError, match="unknown webhook event type"):
        publish(world.org, "transaction.created", {})


def test_transaction_changes_become_created_and_deleted_events_with_change_ids(world):
    endpoint = WebhookEndpointFactory(
        organization=world.org, event_types=["transaction.created", "transaction.deleted"]
    )
    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    account = AccountFactory(organization=world.org, currency="EUR")
    kept = transaction_create(
        ctx=ctx, account=account.pk, occurred_on=date(2026, 3, 1), amount=Decimal("-4.20")
    )
    gone = transaction_create(
        ctx=ctx, account=account.pk, occurred_on=date(2026, 3, 2), amount=Decimal("9.00")
    )
    transaction_delete(ctx=ctx, tx_id=gone.pk)
    assert transaction_events_queue(organization_id=world.org.pk) == 2
    assert transaction_events_queue(organization_id=world.org.pk) == 0  # its position moved on
    deliveries = {d.event_type: d for d in WebhookDelivery.objects.filter(endpoint=endpoint)}
    kept.refresh_from_db()
    gone.refresh_from_db()
    created, deleted = deliveries["transaction.created"], deliveries["transaction.deleted"]
    assert created.event_id == f"chg_{kept.change_seq}_{kept.pk}"
    assert created.payload["amount"] == "-4.20"
    assert deleted.event_id == f"chg_{gone.change_seq}_{gone.pk}"
    assert deleted.payload == {"id": gone.pk}


def test_an_import_that_ends_publishes_import_finished(world, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kore.imports.services import import_job_create, import_job_run

    settings.MEDIA_ROOT = tmp_path
    endpoint = WebhookEndpointFactory(organization=world.org, event_types=["import.finished"])
    account = AccountFactory(organization=world.org, currency="EUR")
    csv = b"date,amount,description\n2026-03-10,-12.50,Coffee\n2026-03-11,-3.20,Bus\n"
    job = import_job_create(
        ctx=OrgContext(world.org, Role.OWNER, world.owner, None),
        file=SimpleUploadedFile("march.csv", csv),
        account=account.pk,
        format="csv",
        mapping={"date": "date", "amount": "amount", "description": "description",
                 "date_format": "%Y-%m-%d"},
        enqueue=False,
    )  # fmt: skip
    import_job_run(job_id=job.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "import.finished"
    assert delivery.payload["import"] == job.pk
    assert delivery.payload["created_count"] == 2


def test_a_new_endpoint_gets_only_the_changes_made_after_it(world):
    from kore.webhooks.services import endpoint_create

    ctx = OrgContext(world.org, Role.OWNER, world.owner, None)
    account = AccountFactory(organization=world.org, currency="EUR")
    transaction_create(
        ctx=ctx, account=account.pk, occurred_on=date(2026, 3, 1), amount=Decimal("-1.00")
    )
    endpoint = endpoint_create(
        ctx=ctx, url="https://hooks.example.com/k", event_types=["transaction.created"]
    )
    later = transaction_create(
        ctx=ctx, account=account.pk, occurred_on=date(2026, 3, 2), amount=Decimal("-2.00")
    )
    assert transaction_events_queue(organization_id=world.org.pk) == 1
    assert WebhookDelivery.objects.get(endpoint=endpoint).payload["id"] == later.pk
