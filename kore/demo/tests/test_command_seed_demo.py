"""manage.py seed_demo: realistic rows, every index back afterwards, flags true to the children."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from kore.core.testing import client_for
from kore.ledger.models import Split, Transaction, Transfer
from kore.orgs.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db(transaction=True)  # the index rebuild runs on other connections


def _index_definitions() -> set[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'ledger_transaction'")
        return {row[0] for row in cur.fetchall()}


def _seed(**options):
    out = StringIO()
    call_command("seed_demo", transactions=3000, orgs=2, seed=7, stdout=out, **options)
    return out.getvalue()


def test_seeding_fills_the_organisations_and_reports_the_rates():
    output = _seed()
    assert Organization.objects.filter(slug__in=["seed-01", "seed-02"]).count() == 2
    assert Transaction.objects.filter(organization__slug__startswith="seed-").count() == 3000
    assert "Seed rate" in output
    # The baseline copies every row the seeding wrote, whatever its table.
    rows = (
        Transaction.objects.filter(organization__slug__startswith="seed-").count()
        + Transfer.objects.filter(organization__slug__startswith="seed-").count()
        + Split.objects.filter(transaction__organization__slug__startswith="seed-").count()
        + Transaction.tags.through.objects.filter(
            transaction__organization__slug__startswith="seed-"
        ).count()
    )
    assert f"Raw COPY of the same {rows:,} rows (every table)" in output
    assert "Ratio: seeding end to end = " in output


def test_every_index_is_back_after_seeding():
    before = _index_definitions()
    assert any("gin_trgm_ops" in d for d in before)  # the text-search indexes are among them
    _seed()
    assert _index_definitions() == before


def test_child_flags_match_the_rows_children():
    _seed()
    rows = Transaction.objects.annotate(n_splits=Count("splits", distinct=True)).annotate(
        n_tags=Count("tags", distinct=True)
    )
    assert rows.filter(has_splits=True).exists()
    assert rows.filter(has_tags=True).exists()
    assert not rows.filter(has_splits=True, n_splits=0).exists()
    assert not rows.filter(has_splits=False, n_splits__gt=0).exists()
    assert not rows.filter(has_tags=True, n_tags=0).exists()
    assert not rows.filter(has_tags=False, n_tags__gt=0).exists()


def test_split_lines_sum_to_their_transaction():
    _seed()
    for tx in Transaction.objects.filter(has_splits=True).annotate(total=Sum("splits__amount")):
        assert tx.total == tx.amount, tx.pk
    assert Split.objects.exists()


def test_seeded_ledger_is_served_by_the_list_and_the_text_search():
    _seed()
    owner = Membership.objects.get(organization__slug="seed-01", role=Role.OWNER).user
    api = client_for(owner)
    page = api.get("/api/v1/orgs/seed-01/transactions/?limit=50").json()
    assert len(page["results"]) == 50
    assert page["next_cursor"]
    assert all(Decimal(row["amount"]) != 0 for row in page["results"])
    word = page["results"][0]["description"].split()[0]
    found = api.get("/api/v1/orgs/seed-01/transactions/", {"q": word.lower()}).json()
    assert found["results"]
    assert all(
        word.lower() in (r["description"] + r["counterparty"]).lower() for r in found["results"]
    )


def test_a_second_run_refuses_without_reset_and_reset_replaces():
    _seed()
    assert "already exist" in _seed()
    _seed(reset=True)
    assert Transaction.objects.filter(organization__slug__startswith="seed-").count() == 3000


def test_transfers_have_two_legs_between_two_accounts_on_one_day():
    _seed()
    transfers = Transfer.objects.filter(organization__slug__startswith="seed-")
    assert transfers.count() == 2 * (1500 // 100)
    for transfer in transfers:
        legs = Transaction.objects.filter(transfer=transfer).select_related("account")
        out_leg, in_leg = sorted(legs, key=lambda t: t.amount)
        assert out_leg.amount < 0 < in_leg.amount
        assert out_leg.account_id != in_leg.account_id
        assert out_leg.occurred_on == in_leg.occurred_on
        assert out_leg.currency == out_leg.account.currency
        assert in_leg.currency == in_leg.account.currency
        if out_leg.currency == in_leg.currency:
            assert in_leg.amount == -out_leg.amount
        assert transfer.rate == (in_leg.amount / -out_leg.amount).quantize(Decimal("1e-10"))


def test_amounts_have_the_currencys_minor_units_and_are_never_zero():
    _seed()
    rows = Transaction.objects.filter(organization__slug__startswith="seed-")
    assert rows.filter(currency="JPY").exists() or rows.exclude(currency="JPY").exists()
    for amount, currency in rows.values_list("amount", "currency"):
        places = 0 if currency == "JPY" else 2
        assert amount != 0
        assert amount == amount.quantize(Decimal(1).scaleb(-places)), (amount, currency)


FIELDS = ("organization__slug", "occurred_on", "amount", "description", "counterparty",
          "category__name", "status", "reference")  # fmt: skip


def test_the_same_seed_gives_the_same_rows():
    def fingerprint():
        seeded = {"transaction__organization__slug__startswith": "seed-"}
        order = ("transaction__organization__slug", "transaction__change_seq")
        return (
            list(
                Transaction.objects.filter(organization__slug__startswith="seed-")
                .order_by("organization__slug", "change_seq", "amount")
                .values_list(*FIELDS)
            ),
            # Split lines and tags too, though their transactions' ids differ from run to run.
            list(
                Split.objects.filter(**seeded)
                .order_by(*order, "position")
                .values_list("transaction__change_seq", "category__name", "amount", "memo")
            ),
            list(
                Transaction.tags.through.objects.filter(**seeded)
                .order_by(*order, "tag__name")
                .values_list("transaction__change_seq", "tag__name")
            ),
        )

    _seed()
    first = fingerprint()
    _seed(reset=True)
    assert fingerprint() == first
    out = StringIO()
    call_command("seed_demo", transactions=3000, orgs=2, seed=8, reset=True, stdout=out)
    assert fingerprint() != first


def test_zero_transactions_makes_the_organisations_only():
    out = StringIO()
    call_command("seed_demo", transactions=0, orgs=2, seed=7, stdout=out)
    assert Organization.objects.filter(slug__startswith="seed-").count() == 2
    assert not Transaction.objects.filter(organization__slug__startswith="seed-").exists()
    assert "Rows: 0 transactions" in out.getvalue()
