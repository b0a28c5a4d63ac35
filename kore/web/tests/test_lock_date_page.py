"""Settings → Closed books: a signed-in admin moves the lock date; the move is audited."""

from datetime import date

import pytest

from kore.core.testing import OrgWorld
from kore.orgs.models import SecurityEvent

from .helpers import browser


def _url(world: OrgWorld) -> str:
    return f"/o/{world.org.slug}/settings/lock-date/"


@pytest.mark.django_db
def test_an_admin_closes_and_reopens_the_books(world: OrgWorld) -> None:
    client = browser(world.admin)
    assert 'id="lock-date-form"' in client.get(f"/o/{world.org.slug}/settings/").content.decode()
    response = client.post(_url(world), {"lock_date": "2026-06-30"}, follow=True)
    assert "Books closed through 2026-06-30" in response.content.decode()
    world.org.refresh_from_db()
    assert world.org.lock_date == date(2026, 6, 30)
    client.post(_url(world), {"lock_date": ""})
    world.org.refresh_from_db()
    assert world.org.lock_date is None
    moves = SecurityEvent.objects.filter(organization=world.org, kind="lock_date_changed")
    assert [e.detail["to"] for e in moves.order_by("created_at", "id")] == ["2026-06-30", None]
    assert {e.actor_id for e in moves} == {world.admin.pk}


@pytest.mark.django_db
def test_a_member_cannot_move_it_and_a_get_changes_nothing(world: OrgWorld) -> None:
    assert browser(world.member).post(_url(world), {"lock_date": "2026-06-30"}).status_code == 403
    assert browser(world.admin).get(_url(world)).status_code == 405
    world.org.refresh_from_db()
    assert world.org.lock_date is None


@pytest.mark.django_db
def test_a_malformed_date_is_shown_on_the_form(world: OrgWorld) -> None:
    response = browser(world.admin).post(_url(world), {"lock_date": "someday"})
    assert response.status_code == 422
    assert "valid date" in response.content.decode()
