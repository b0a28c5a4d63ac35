"""The admin lists exchange rates for staff and refuses to create, edit or delete them by hand."""

from datetime import date
from decimal import Decimal

from django.test import Client

from kore.fx.services import RateInput, exchange_rate_set
from kore.orgs.models import User


def test_admin_lists_rates_read_only(world) -> None:
    item = RateInput("EUR", "USD", date(2026, 3, 2), Decimal("1.0850"))
    row, _ = exchange_rate_set(organization=world.org, item=item)
    admin = User.objects.create_superuser(email="root@kore.local", password="a-long-password-1")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/fx/exchangerate/")
    assert listing.status_code == 200
    assert b"1.085" in listing.content
    assert client.get("/admin/fx/exchangerate/add/").status_code == 403
    assert (
        client.post(f"/admin/fx/exchangerate/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    )
