"""GET/DELETE /attachments/{id}/: metadata, deletion (the file goes after commit), roles."""

import pytest
from django.core.files.storage import default_storage

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Attachment, Transaction
from kore.ledger.tests.factories import AccountFactory
from kore.ledger.tests.factories_tx import TransactionFactory
from kore.ledger.tests.test_api_attachments import pdf_bytes, png_bytes, post_file, url


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def attachment(world):
    response = post_file(world, world.member, "receipt.pdf", pdf_bytes())
    assert response.status_code == 201, response.content
    return Attachment.objects.get(pk=response.json()["id"])


def detail(world, attachment_id: int) -> str:
    return f"{url(world)}{attachment_id}/"


def test_metadata(world, attachment):
    response = client_for(world.viewer).get(detail(world, attachment.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == attachment.pk
    assert body["original_name"] == "receipt.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(pdf_bytes())
    assert body["sha256"] == attachment.sha256
    assert "path" not in body


def test_unknown_id_is_404(world, attachment):
    assert_error(
        client_for(world.member).get(detail(world, attachment.pk + 1000)), 404, "not_found"
    )


def test_other_organisation_is_404(world, attachment):
    assert_other_org_is_404(world.outsider, "get", detail(world, attachment.pk))
    assert_other_org_is_404(world.outsider, "delete", detail(world, attachment.pk))
    # Through the outsider's own organisation: the id is not theirs either.
    foreign = f"/api/v1/orgs/{world.other_org.slug}/attachments/{attachment.pk}/"
    assert_error(client_for(world.outsider).get(foreign), 404, "not_found")
    assert_error(client_for(world.outsider).delete(foreign), 404, "not_found")
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_unauthenticated_is_401(world, attachment):
    assert_error(client_for(None).get(detail(world, attachment.pk)), 401, "not_authenticated")
    assert_error(client_for(None).delete(detail(world, attachment.pk)), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_wrong_method_is_405(world, attachment, method):
    response = getattr(client_for(world.member), method)(detail(world, attachment.pk), {})
    assert_error(response, 405, "method_not_allowed")


def test_member_deletes_row_and_file_after_commit(
    world, attachment, media_root, django_capture_on_commit_callbacks
):
    path = attachment.path
    assert default_storage.exists(path)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(world.member).delete(detail(world, attachment.pk))
    assert response.status_code == 204
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert default_storage.exists(path)  # not before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert not default_storage.exists(path)
    assert not (media_root / path).exists()
    assert_error(client_for(world.member).get(detail(world, attachment.pk)), 404, "not_found")


def test_the_same_file_can_be_uploaded_again_after_deletion(
    world, attachment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(world.admin).delete(detail(world, attachment.pk)).status_code == 204
    again = post_file(world, world.member, "receipt.pdf", pdf_bytes())
    assert again.status_code == 201, again.content


def test_viewer_cannot_delete(world, attachment):
    response = client_for(world.viewer).delete(detail(world, attachment.pk))
    assert_error(response, 403, "permission_denied")
    assert Attachment.objects.filter(pk=attachment.pk).exists()
    assert default_storage.exists(attachment.path)


def test_linked_transaction_purged_keeps_the_attachment(world):
    tx = TransactionFactory(account=AccountFactory(organization=world.org))
    response = post_file(world, world.member, "p.png", png_bytes(), transaction=str(tx.pk))
    assert response.status_code == 201, response.content
    Transaction.objects.filter(pk=tx.pk).delete()  # what the tombstone purge does
    body = client_for(world.member).get(detail(world, response.json()["id"])).json()
    assert body["transaction"] is None
