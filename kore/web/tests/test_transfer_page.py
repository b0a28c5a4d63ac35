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


def _transfer(world: OrgWorld, source: Account, target: Account, **extra: str) -> Transfer:
    response = browser(world.member).post(_url(world), _form(source, target, **extra))
    assert response.status_code == 302
    return Transfer.objects.get(organization=world.org)


@pytest.mark.django_db
def test_a_leg_links_to_its_transfer_which_corrects_both_legs(world: OrgWorld, accounts) -> None:
    current, savings, _ = accounts
    transfer = _transfer(world, current, savings)
    client = browser(world.member)
    leg = Transaction.objects.get(account=current)
    detail = client.get(f"/o/{world.org.slug}/transactions/{leg.pk}/").content.decode()
    assert f"/o/{world.org.slug}/transfers/{transfer.pk}/" in detail
    url = f"/o/{world.org.slug}/transfers/{transfer.pk}/"
    page = client.get(url).content.decode()
    assert "Amount arriving" not in page  # one currency: the legs move together
    form = {"amount": "260.00", "occurred_on": "2026-05-03", "description": "Corrected",
            "etag": f'"{transfer.pk}-1"'}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 302
    legs = {t.account_id: (t.amount, str(t.occurred_on), t.description)
            for t in Transaction.objects.filter(transfer=transfer)}  # fmt: skip
    assert legs == {
        current.pk: (Decimal("-260.00"), "2026-05-03", "Corrected"),
        savings.pk: (Decimal("260.00"), "2026-05-03", "Corrected"),
    }
    stale = client.post(url, {"amount": "1.00", "occurred_on": "2026-05-03",
                              "etag": f'"{transfer.pk}-1"'})  # fmt: skip
    assert stale.status_code == 412
    assert Transaction.objects.get(pk=leg.pk).amount == Decimal("-260.00")


@pytest.mark.django_db
def test_a_transfer_is_deleted_from_both_accounts(world: OrgWorld, accounts) -> None:
    current, _, dollars = accounts
    transfer = _transfer(world, current, dollars, to_amount="270.50")
    url = f"/o/{world.org.slug}/transfers/{transfer.pk}/"
    client = browser(world.member)
    assert "Amount arriving" in client.get(url).content.decode()
    response = client.post(url, {"delete": "1"})
    assert response.status_code == 302
    assert all(t.deleted_at for t in Transaction.objects.filter(transfer=transfer))
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_viewer_reads_a_transfer_but_cannot_change_it(world: OrgWorld, accounts) -> None:
    current, savings, _ = accounts
    transfer = _transfer(world, current, savings)
    url = f"/o/{world.org.slug}/transfers/{transfer.pk}/"
    viewer = browser(world.viewer)
    assert "transfer-form" not in viewer.get(url).content.decode()
    assert viewer.post(url, {"delete": "1"}).status_code == 403
    assert not Transaction.objects.filter(deleted_at__isnull=False).exists()
