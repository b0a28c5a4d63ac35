"""Training and auto-apply through a REAL Celery worker process (see kore.imports' tests)."""

import pytest
from django.db import transaction as db_transaction

from kore.core.testing import client_for, wait_until
from kore.imports.tests.conftest import upload, wait_for
from kore.ledger.models import Transaction
from kore.ledger.services.state import ledger_version_bump
from kore.suggestions.models import AppliedSuggestion, SuggestionModel, SuggestionSettings
from kore.suggestions.services import suggestion_model_train
from kore.suggestions.tasks import train_due

from .helpers import history_write

pytestmark = pytest.mark.django_db(transaction=True)

CSV = (
    "Date,Description,Amount\n"
    "2026-03-01,NETFLIX.COM 8843 AMSTERDAM,-12.99\n"
    "2026-03-02,SQ *BLUE BOTTLE COFFEE #12 OAKLAND,-4.80\n"
    "2026-03-03,Shell Station 0912,-58.10\n"
)


def _import(world, account, data: bytes, **fields) -> int:
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/",
        {"file": upload("rows.csv", data), "account": account.pk, **fields},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


def _stored(world) -> SuggestionModel | None:
    return SuggestionModel.objects.filter(organization=world.org).first()


def test_the_schedule_trains_an_organisation_whose_ledger_changed(celery_worker, world, account):
    history_write(world.org, account)
    with db_transaction.atomic():
        ledger_version_bump(organization=world.org)  # what every ledger write does
    train_due.delay()
    model = wait_until(lambda: _stored(world), timeout=60, what="a trained model")
    assert (model.rows, model.categories, model.method) == (30, 5, "centroid")


def test_an_import_applies_confident_suggestions_when_the_organisation_asks(
    celery_worker, world, account
):
    categories = history_write(world.org, account)
    suggestion_model_train(organization=world.org)
    SuggestionSettings.objects.create(organization=world.org, auto_apply_confidence="0.60")
    job = wait_for(_import(world, account, CSV.encode()))
    assert job.status == "done", job.errors
    rows = {t.description: t for t in Transaction.objects.filter(import_job=job)}
    netflix = rows["NETFLIX.COM 8843 AMSTERDAM"]
    assert netflix.category_id == categories["Subscriptions"].pk
    applied = AppliedSuggestion.objects.get(transaction=netflix)
    assert (applied.how, applied.import_job_id) == ("auto", job.pk)
    assert applied.confidence >= applied.confidence.__class__("0.60")
    latest = netflix.history.first()
    assert (latest.history_change_reason, latest.category_id) == ("suggestion", netflix.category_id)


def test_an_import_applies_nothing_while_auto_apply_is_off(celery_worker, world, account):
    history_write(world.org, account)
    suggestion_model_train(organization=world.org)
    job = wait_for(_import(world, account, CSV.encode()))
    assert job.status == "done"
    assert not Transaction.objects.filter(import_job=job, category__isnull=False).exists()
    assert not AppliedSuggestion.objects.exists()


def test_a_large_import_retrains_the_model(celery_worker, world, account):
    history_write(world.org, account)
    suggestion_model_train(organization=world.org)
    lines = "".join(f"2026-04-{1 + i % 28:02d},Shop {i},-{1 + i % 90}.00\n" for i in range(600))
    job = wait_for(_import(world, account, f"Date,Description,Amount\n{lines}".encode()))
    assert job.created_count == 600
    wait_until(lambda: _stored(world).version == 2, timeout=60, what="a retrained model")


def test_an_import_preview_shows_suggestions_for_its_rows(celery_worker, world, account):
    categories = history_write(world.org, account)
    suggestion_model_train(organization=world.org)
    job = wait_for(_import(world, account, CSV.encode(), dry_run="true"))
    body = (
        client_for(world.viewer)
        .get(f"/api/v1/orgs/{world.org.slug}/imports/{job.pk}/suggestions/")
        .json()
    )
    assert [r["line"] for r in body["results"]] == [2, 3, 4]
    firsts = [r["suggestions"][0]["category"]["id"] for r in body["results"]]
    assert firsts == [categories[n].pk for n in ("Subscriptions", "Coffee", "Fuel")]
