"""The transfer form: money moved between two accounts from the web app, both legs at once."""

from decimal import Decimal

import pytest

from kore.core.testing import OrgWorld
from kore.ledger.models import Account, Transaction, Transfer

from .helpers import browser


def _url(world: OrgWorld) -> str:
    return f"/o/{world.org.slug}/transfers/new/"


@pytest.fixture
def accounts(world: OrgWorld) -> tuple[Account, Account, Account]:
    return (
        Account.objects.create(organization=world.org, name="Current", currency="EUR"),
        Account.objects.create(organization=world.org, name="Savings", currency="EUR"),
        Account.objects.create(organization=world.org, name="Dollars", currency="USD"),
    )


def _form(source: Account, target: Account, **extra: str) -> dict:
    return {"from_account": source.pk, "to_account": target.pk, "amount": "250.00",
            "occurred_on": "2026-05-02", "description": "To savings", **extra}  # fmt: skip


@pytest.mark.django_db
def test_a_transfer_is_recorded_on_both_accounts(world: OrgWorld, accounts) -> None:
    current, savings, _ = accounts
    client = browser(world.member)
    assert "Record transfer" in client.get(_url(world)).content.decode()
    response = client.post(_url(world), _form(current, savings))
    assert response.status_code == 302
    transfer = Transfer.objects.get(organization=world.org)
    legs = {t.account_id: t.amount for t in Transaction.objects.filter(transfer=transfer)}
    assert legs == {current.pk: Decimal("-250.00"), savings.pk: Decimal("250.00")}
    page = client.get(response["Location"], follow=True).content.decode()
    assert "Transfer recorded" in page


@pytest.mark.django_db
def test_across_currencies_the_arriving_amount_is_asked_for(world: OrgWorld, accounts) -> None:
    current, _, dollars = accounts
    client = browser(world.member)
    response = client.post(_url(world), _form(current, dollars))
    assert response.status_code == 422
    assert "cross-currency transfer states both amounts" in response.content.decode()
    assert not Transfer.objects.exists()
    response = client.post(_url(world), _form(current, dollars, to_amount="270.50"))
    assert response.status_code == 302
    assert Transaction.objects.get(account=dollars).amount == Decimal("270.50")


@pytest.mark.django_db
def test_one_account_twice_is_refused_on_the_form(world: OrgWorld, accounts) -> None:
    current = accounts[0]
    response = browser(world.member).post(_url(world), _form(current, current))
    assert response.status_code == 422
    assert "two different accounts" in response.content.decode()
    assert not Transaction.objects.exists()


@pytest.mark.django_db
def test_a_viewer_cannot_transfer(world: OrgWorld, accounts) -> None:
    current, savings, _ = accounts
    response = browser(world.viewer).post(_url(world), _form(current, savings))
    assert response.status_code == 403
    assert not Transaction.objects.exists()
