"""The admin lists backups for staff and refuses to create or edit them by hand."""

import pytest
from django.test import Client
from django.utils import timezone

from kore.backups.models import Backup
from kore.orgs.models import User

pytestmark = pytest.mark.django_db


def test_admin_lists_backups_read_only() -> None:
    Backup.objects.create(
        environment="production",
        path="/backups/production_20260101T020000Z",
        status=Backup.Status.VERIFIED,
        started_at=timezone.now(),
    )
    admin = User.objects.create_superuser(email="root@kore.local", password="a-long-password-1")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/backups/backup/")
    assert listing.status_code == 200
    assert b"production_20260101T020000Z" in listing.content
    assert client.get("/admin/backups/backup/add/").status_code == 403
