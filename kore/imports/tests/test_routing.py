"""Files naming their account (OFX ACCTID, CAMT IBAN): each statement is booked into the Kore
account with that IBAN or number, or the file is refused with the accounts it holds."""

from decimal import Decimal

import pytest

from kore.core.testing import client_for
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory

from .conftest import upload, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def post(world, account, name, **fields):
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/",
        {"file": upload(name), "account": account.pk, **fields},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def job_json(world, job_id):
    return client_for(world.viewer).get(f"/api/v1/orgs/{world.org.slug}/imports/{job_id}/").json()


def amounts(account):
    return sorted(
        Transaction.objects.filter(account=account, deleted_at__isnull=True).values_list(
            "amount", flat=True
        )
    )


def test_each_statement_goes_to_the_account_with_its_number(celery_worker, world):
    checking = AccountFactory(organization=world.org, currency="EUR", number="11111111")
    savings = AccountFactory(organization=world.org, currency="EUR", number="22222222")
    body = job_json(world, wait_for(post(world, checking, "ofx_two_accounts.ofx")).pk)
    assert body["status"] == "done", body["error"]
    assert body["account_refs"] == ["11111111"]
    (routed,) = body["routed"]
    assert (routed["account"], routed["account_refs"]) == (savings.pk, ["22222222"])
    other = job_json(world, wait_for(routed["job"]).pk)
    assert (other["status"], other["account"], other["counts"]["created"]) == (
        "done", savings.pk, 1,
    )  # fmt: skip
    assert amounts(checking) == [Decimal("-200.00"), Decimal("-10.00")]
    assert amounts(savings) == [Decimal("200.00")]


def test_a_file_of_another_account_is_refused_not_booked(celery_worker, world):
    target = AccountFactory(organization=world.org, currency="EUR", iban="DE89370400440532013000")
    body = job_json(world, wait_for(post(world, target, "statement.ofx")).pk)
    assert (body["status"], body["error"]["code"]) == ("failed", "import_account_mismatch")
    assert "456 (no account)" in body["error"]["message"]
    assert "DE89370400440532013000" in body["error"]["message"]
    assert amounts(target) == []


def test_several_accounts_kore_cannot_place_are_listed(celery_worker, world, account):
    body = job_json(world, wait_for(post(world, account, "ofx_two_accounts.ofx")).pk)
    assert (body["status"], body["error"]["code"]) == ("failed", "import_accounts_unknown")
    assert "11111111 (no account), 22222222 (no account)" in body["error"]["message"]
    assert amounts(account) == []


def test_an_account_without_a_number_takes_a_single_statement(celery_worker, world, account):
    body = job_json(world, wait_for(post(world, account, "statement.ofx")).pk)
    assert (body["status"], body["counts"]["created"]) == ("done", 3)


@pytest.mark.parametrize(
    ("iban", "status", "stored"),
    [
        ("DE89 3704 0044 0532 0130 00", 201, "DE89370400440532013000"),
        ("de89370400440532013000", 201, "DE89370400440532013000"),
        ("DE88370400440532013000", 422, None),  # check digits wrong
        ("12345", 422, None),
    ],
)
def test_an_accounts_iban_is_checked(world, iban, status, stored):
    response = client_for(world.admin).post(
        f"/api/v1/orgs/{world.org.slug}/accounts/",
        {"name": "Main", "currency": "EUR", "iban": iban, "number": "0532 013000"},
        format="json",
    )
    assert response.status_code == status, response.content
    if stored:
        assert (response.json()["iban"], response.json()["number"]) == (stored, "0532013000")
    else:
        assert response.json()["error"]["fields"]["iban"][0]["code"] == "invalid_iban"


def test_an_iban_names_one_account(world):
    AccountFactory(organization=world.org, iban="DE89370400440532013000")
    response = client_for(world.admin).post(
        f"/api/v1/orgs/{world.org.slug}/accounts/",
        {"name": "Twin", "currency": "EUR", "iban": "DE89370400440532013000"},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "account_ref_taken"


# --- reconcile on import --------------------------------------------------------------------------
def test_a_statement_whose_balance_agrees_is_reconciled_on_import(celery_worker, world, account):
    body = job_json(world, wait_for(post(world, account, "statement.ofx")).pk)
    assert body["status"] == "done", body["error"]
    (checked,) = body["statements"]
    assert {k: checked[k] for k in ("account_ref", "end_date", "closing_balance", "status",
                                    "difference")} == {
        "account_ref": "456", "end_date": "2024-01-31", "closing_balance": "80.50",
        "status": "reconciled", "difference": "0.00",
    }  # fmt: skip
    statement = (
        client_for(world.viewer)
        .get(f"/api/v1/orgs/{world.org.slug}/statements/{checked['statement']}/")
        .json()
    )
    assert (statement["status"], statement["closing_balance"]) == ("reconciled", "80.50")
    assert set(Transaction.objects.filter(account=account).values_list("status", flat=True)) == {
        "reconciled"
    }


def test_a_statement_that_disagrees_stays_open_with_the_difference(celery_worker, world):
    account = AccountFactory(organization=world.org, currency="EUR", opening_balance="10.00")
    body = job_json(world, wait_for(post(world, account, "statement.ofx")).pk)
    assert body["status"] == "done", body["error"]
    (checked,) = body["statements"]
    assert (checked["status"], checked["difference"]) == ("open", "-10.00")
    assert "off by -10.00" in checked["message"]
    assert set(Transaction.objects.filter(account=account).values_list("status", flat=True)) == {
        "cleared"
    }


def test_a_csv_names_its_account_and_a_row_of_another_is_an_error(celery_worker, world):
    target = AccountFactory(organization=world.org, currency="EUR", iban="DE89370400440532013000")
    data = (
        "Auftragskonto;Buchungstag;Betrag;Verwendungszweck\n"
        "DE89 3704 0044 0532 0130 00;02.01.2024;-5,00;Brot\n"
        "DE89 3704 0044 0532 0130 00;03.01.2024;-6,00;Milch\n"
        "DE44 5001 0517 5407 3249 31;04.01.2024;-7,00;Käse\n"
    ).encode()
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/",
        {"file": upload("umsatz.csv", data), "account": target.pk, "mode": "skip_invalid"},
        format="multipart",
    )
    body = job_json(world, wait_for(response.json()["id"]).pk)
    assert body["status"] == "done", body["error"]
    assert body["account_refs"] == ["DE89370400440532013000"]
    (error,) = body["errors"]
    assert (error["line"], error["code"]) == (4, "account_mismatch")
    assert amounts(target) == [Decimal("-6.00"), Decimal("-5.00")]
    other = AccountFactory(organization=world.org, currency="EUR", iban="DE44500105175407324931")
    response = client_for(world.member).post(
        f"/api/v1/orgs/{world.org.slug}/imports/",
        {"file": upload("umsatz.csv", data), "account": other.pk},
        format="multipart",
    )
    body = job_json(world, wait_for(response.json()["id"]).pk)
    assert (body["status"], body["error"]["code"]) == ("failed", "import_account_mismatch")
