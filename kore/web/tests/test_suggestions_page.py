"""Category suggestions on the transactions page and an import's preview: a fragment beside
the rows, and accepting one."""

from decimal import Decimal

import pytest

from kore.core.testing import OrgWorld
from kore.imports.models import ImportJob
from kore.ledger.models import Transaction
from kore.ledger.tests.factories import AccountFactory
from kore.suggestions.models import AppliedSuggestion
from kore.suggestions.services import suggestion_model_train
from kore.suggestions.tests.helpers import history_write, uncategorised

from .helpers import browser, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(world: OrgWorld):
    account = AccountFactory(organization=world.org)
    categories = history_write(world.org, account)
    suggestion_model_train(organization=world.org)
    return account, categories


def test_the_page_loads_the_suggestions_of_its_uncategorised_rows_apart(world, trained):
    account, categories = trained
    tx = uncategorised(account, "NETFLIX.COM 1188", "-12.99")
    body = browser(world.member).get(page(world, "transactions/")).content.decode()
    loader = body.split('class="suggest-load"')[1].split(">")[0]
    assert f"transaction={tx.pk}" in loader
    assert f'id="cat-{tx.pk}"' in body
    assert "Subscriptions 9" not in body  # not in the rows themselves
    url = loader.split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    fragment = browser(world.member).get(url, HTTP_HX_REQUEST="true").content.decode()
    cell = fragment.split(f'id="cat-{tx.pk}"')[1]
    assert 'hx-swap-oob="true"' in cell
    first = cell.split('class="small suggest-pick"')[1]
    assert f'"category": "{categories["Subscriptions"].pk}"' in first
    assert ">Subscriptions " in first


def test_clicking_a_suggestion_sets_the_category_and_shows_what_was_accepted(world, trained):
    account, categories = trained
    tx = uncategorised(account, "REWE Markt 12", "-40.00")
    wanted = categories["Groceries"].pk
    response = browser(world.member).post(
        page(world, f"transactions/{tx.pk}/suggestions/accept/"),
        {"category": wanted, "target": "row"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert f'id="tx-{tx.pk}"' in response.content.decode()
    assert Transaction.objects.get(pk=tx.pk).category_id == wanted
    detail = browser(world.viewer).get(page(world, f"transactions/{tx.pk}/")).content.decode()
    assert "Category Groceries accepted by" in detail
    assert "from the suggestions Groceries" in detail


def test_a_viewer_sees_suggestions_but_no_button(world, trained):
    account, _ = trained
    tx = uncategorised(account, "NETFLIX.COM")
    url = page(world, f"transactions/suggestions/?transaction={tx.pk}")
    fragment = browser(world.viewer).get(url).content.decode()
    assert "suggest-label" in fragment
    assert "suggest-pick" not in fragment
    response = browser(world.viewer).post(
        page(world, f"transactions/{tx.pk}/suggestions/accept/"), {"category": 1}
    )
    assert response.status_code == 403


def test_another_organisations_row_gets_nothing(world, trained):
    theirs = uncategorised(AccountFactory(organization=world.other_org), "NETFLIX.COM")
    url = page(world, f"transactions/suggestions/?transaction={theirs.pk}")
    assert f"cat-{theirs.pk}" not in browser(world.member).get(url).content.decode()
    response = browser(world.member).post(
        page(world, f"transactions/{theirs.pk}/suggestions/accept/"), {"category": 1}
    )
    assert response.status_code == 404


def test_an_import_preview_shows_suggestions_and_what_was_applied(world, trained):
    account, categories = trained
    job = ImportJob.objects.create(
        organization=world.org, account=account, status="done", file_path="imports/x",
        original_name="rows.csv", size=1, format="csv",
        preview={"rows": [
            {"line": 2, "amount": "-12.99", "description": "NETFLIX.COM", "counterparty": ""},
            {"line": 3, "amount": "-4.50", "description": "", "counterparty": "BLUE BOTTLE"},
        ]},
    )  # fmt: skip
    booked = Transaction.objects.create(
        organization=world.org, account=account, occurred_on="2026-03-01",
        amount=Decimal("-12.99"), currency="EUR", description="NETFLIX.COM", import_job=job,
        import_line=2, category=categories["Subscriptions"],
    )  # fmt: skip
    AppliedSuggestion.objects.create(
        organization=world.org, transaction=booked, category=categories["Subscriptions"],
        confidence="0.970", suggested=[{"category": categories["Subscriptions"].pk,
                                        "confidence": "0.970"}], how="auto", import_job=job,
    )  # fmt: skip
    uncategorised(account, "BLUE BOTTLE", "-4.50").__class__.objects.filter(
        counterparty="BLUE BOTTLE"
    ).update(import_job=job, import_line=3)
    body = browser(world.member).get(page(world, f"imports/{job.pk}/")).content.decode()
    assert 'id="isg-2"' in body
    fragment = browser(world.member).get(page(world, f"imports/{job.pk}/suggestions/")).content
    cells = fragment.decode()
    assert "Subscriptions <small>(applied at 97%)</small>" in cells
    line3 = cells.split('id="isg-3"')[1]
    assert "suggest-pick" in line3
    assert ">Coffee " in line3
