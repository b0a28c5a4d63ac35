"""/schedules/, /schedules/{id}/, /schedules/{id}/occurrences/ and /forecast/."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.tests.factories import AccountFactory
from kore.orgs.selectors import organization_today
from kore.planning.models import Schedule
from kore.planning.runs import schedule_run

from .conftest import book

pytestmark = pytest.mark.django_db


def url(world, path: str = "") -> str:
    return f"/api/v1/orgs/{world.org.slug}/{path}"


def body(account, **extra):
    return {"account": account.pk, "amount": "-49.99", "counterparty": "Gym",
            "rule": "monthly", "day_of_month": 31, "starts_on": "2026-01-01"} | extra  # fmt: skip


def test_a_member_creates_a_schedule(world, account):
    response = client_for(world.member).post(url(world, "schedules/"), body(account),
                                             format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["amount"], data["currency"], data["mode"], data["interval"]) == (
        "-49.99", "EUR", "create", 1)  # fmt: skip
    assert Schedule.objects.get().created_by == world.member


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"starts_on": "2026-03-05", "ends_on": "2026-03-30", "day_of_month": 1},
         "schedule_no_dates"),
        ({"rule": "weekly", "starts_on": "2026-03-05", "ends_on": "2026-03-04",
          "day_of_month": None}, "schedule_no_dates"),
        ({"day_of_month": None}, "schedule_rule_invalid"),
        ({"rule": "last_business_day"}, "schedule_rule_invalid"),
        ({"amount": "0.00"}, "amount_zero"),
        ({"amount": "-1.001"}, "amount_precision"),
        ({"amount_tolerance": "-1.00"}, "amount_not_positive"),
    ],
)  # fmt: skip
def test_bad_schedules_are_422_and_write_nothing(world, account, extra, code):
    response = client_for(world.member).post(url(world, "schedules/"), body(account, **extra),
                                             format="json")  # fmt: skip
    assert_error(response, 422, code)
    assert not Schedule.objects.exists()


def test_an_unknown_rule_and_another_orgs_account_are_422(world, account):
    client = client_for(world.member)
    assert_error(client.post(url(world, "schedules/"), body(account, rule="yearly"),
                             format="json"), 422, "validation_failed")  # fmt: skip
    theirs = AccountFactory(organization=world.other_org)
    response = client.post(url(world, "schedules/"), body(theirs), format="json")
    assert_error(response, 422, "invalid_reference")


def test_roles_and_other_organisations(world, account):
    assert_error(client_for(world.viewer).post(url(world, "schedules/"), body(account),
                                               format="json"), 403)  # fmt: skip
    created = client_for(world.member).post(url(world, "schedules/"), body(account),
                                            format="json").json()  # fmt: skip
    for path in ("", "occurrences/"):
        assert_other_org_is_404(
            world.outsider, "get", url(world, f"schedules/{created['id']}/{path}")
        )
    assert_error(client_for(None).get(url(world, "forecast/")), 401)


def test_patch_and_delete_keep_the_booked_transactions(world, ctx, account):
    client = client_for(world.member)
    created = client.post(url(world, "schedules/"), body(account), format="json").json()
    schedule_run(schedule_id=created["id"])
    booked = client.get(url(world, f"schedules/{created['id']}/occurrences/")).json()["results"]
    assert booked
    assert {o["outcome"] for o in booked} == {"created"}
    assert not booked[0]["arrived"]
    detail = url(world, f"schedules/{created['id']}/")
    patched = client.patch(detail, {"active": False}, format="json")
    assert patched.json()["active"] is False
    assert client.delete(detail).status_code == 204
    from kore.ledger.models import Transaction

    assert Transaction.objects.filter(pk=booked[0]["transaction"]).exists()


def test_the_forecast_runs_each_accounts_balance_90_days_ahead(world, ctx, account):
    today = organization_today(organization=world.org)
    book(ctx, account, today.isoformat(), "1000.00")
    client = client_for(world.member)
    salary = body(account, amount="2500.00", rule="last_business_day", day_of_month=None,
                  counterparty="Employer", starts_on=today.isoformat())  # fmt: skip
    rent = body(account, amount="-1200.00", rule="weekly", interval=4, day_of_month=None,
                starts_on=(today + timedelta(days=1)).isoformat())  # fmt: skip
    for payload in (salary, rent):
        assert client.post(url(world, "schedules/"), payload, format="json").status_code == 201
    data = client_for(world.viewer).get(url(world, f"forecast/?account={account.pk}")).json()
    assert data["date_to"] == (today + timedelta(days=90)).isoformat()
    (forecast,) = data["accounts"]
    assert forecast["opening_balance"] == "1000.00"
    items = forecast["items"]
    assert all(today.isoformat() < i["date"] <= data["date_to"] for i in items)
    rents = [i for i in items if i["amount"] == "-1200.00"]
    assert len(rents) == 4  # days 1, 29, 57 and 85
    total = Decimal("1000.00") + sum(Decimal(i["amount"]) for i in items)
    assert Decimal(forecast["closing_balance"]) == total
    assert Decimal(forecast["lowest_balance"]) == min(
        [Decimal("1000.00")] + [Decimal(i["balance"]) for i in items]
    )


def test_forecast_days_out_of_range_is_refused(world):
    assert_error(client_for(world.viewer).get(url(world, "forecast/?days=400")), 422)


def test_deleting_an_account_or_a_category_a_schedule_names_is_not_an_error(world, account):
    from kore.ledger.tests.factories import CategoryFactory

    phone = CategoryFactory(organization=world.org, name="Phone")
    client = client_for(world.admin)
    created = client.post(url(world, "schedules/"), body(account, category=phone.pk),
                          format="json").json()  # fmt: skip
    assert client.delete(url(world, f"categories/{phone.pk}/")).status_code == 204
    assert Schedule.objects.get(pk=created["id"]).category is None
    assert client.delete(url(world, f"accounts/{account.pk}/")).status_code == 204
    assert not Schedule.objects.exists()
