"""Pages opened from an email link hold its secret in their URL: no Referer may carry it away."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
RESET_LINK = "/password-reset/confirm/?uid=MQ&token=c8x-0123456789abcdef"
INVITE_LINK = "/invitations/accept/?token=inv-0123456789abcdef"


@pytest.mark.parametrize("link", [RESET_LINK, INVITE_LINK])
def test_the_link_page_sends_no_referrer(link):
    response = Client().get(link)
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_refused_reset_link_answer_sends_no_referrer():
    response = Client().post(RESET_LINK, {"password": "a-new-passphrase-77"})
    assert response.status_code == 422
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_refused_invitation_answer_sends_no_referrer():
    response = Client().post(INVITE_LINK, {"password": "a-new-passphrase-77", "full_name": "A"})
    assert response.status_code == 422
    assert response["Referrer-Policy"] == "no-referrer"


def test_other_pages_keep_the_same_origin_policy():
    assert Client().get("/sign-in/")["Referrer-Policy"] == "same-origin"
