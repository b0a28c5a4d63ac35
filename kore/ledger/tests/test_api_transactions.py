"""GET/POST /transactions/: recording one transaction, and the filtered, keyset-paginated list."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kore.core.money import format_amount
from kore.core.testing import assert_error, assert_other_org_is_404, client_for
from kore.ledger.models import Account, Split, Tag, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory

from .factories_tx import (
    TransactionFactory,
    tx_base,
    tx_payload,
)

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def account(world):
    return AccountFactory(organization=world.org, currency="EUR")


@pytest.fixture
def api(world):
    return client_for(world.member)


def _post(api, world, payload):
    return api.post(tx_base(world), payload, format="json")


def _created(api, world, payload):
    response = _post(api, world, payload)
    assert response.status_code == 201, response.json()
    return response.json()


# --- Create ---------------------------------------------------------------------------------------
def test_create_records_every_field_and_returns_etag(world, api, account):
    category = CategoryFactory(organization=world.org)
    payload = tx_payload(
        account,
        description="Groceries",
        counterparty="Shop",
        category=category.pk,
        tags=["food", "weekly", "food"],
        reference="INV-1",
        notes="paid by card",
        metadata={"source": "import", "line": "3"},
        status="cleared",
        splits=[
            {"amount": "-10.00", "category": category.pk, "memo": "veg"},
            {"amount": "-2.30"},
        ],
    )
    response = _post(api, world, payload)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["ETag"] == body["etag"] == f'"{body["id"]}-1"'
    assert body["account"] == account.pk
    assert body["amount"] == "-12.30"
    assert body["currency"] == "EUR"
    assert body["occurred_on"] == "2026-01-15"
    assert body["description"] == "Groceries"
    assert body["counterparty"] == "Shop"
    assert body["category"] == category.pk
    assert body["tags"] == ["food", "weekly"]
    assert body["reference"] == "INV-1"
    assert body["notes"] == "paid by card"
    assert body["metadata"] == {"source": "import", "line": "3"}
    assert body["status"] == "cleared"
    assert body["splits"] == [
        {"category": category.pk, "amount": "-10.00", "memo": "veg"},
        {"category": None, "amount": "-2.30", "memo": ""},
    ]
    assert body["created_by"] == world.member.pk
    assert body["version"] == 1
    tx = Transaction.objects.get(pk=body["id"])
    assert tx.organization_id == world.org.pk
    assert tx.amount == Decimal("-12.30")
    assert sorted(tx.tags.values_list("name", flat=True)) == ["food", "weekly"]


def test_create_defaults(world, api, account):
    body = _created(api, world, tx_payload(account))
    assert body["status"] == "pending"
    assert body["tags"] == body["splits"] == []
    assert body["metadata"] == {}
    assert body["category"] is None
    assert body["description"] == body["notes"] == body["reference"] == ""


def test_currency_is_the_accounts_and_cannot_be_sent(world, api):
    yen = AccountFactory(organization=world.org, currency="JPY")
    assert _created(api, world, tx_payload(yen, amount="1500"))["currency"] == "JPY"
    assert_error(_post(api, world, tx_payload(yen, currency="EUR")), 400, "unknown_field")


@pytest.mark.parametrize("amount", [1.5, 12, -3, True, None, ["1.00"], {"v": "1"}])
def test_amount_that_is_not_a_json_string_is_400(world, api, account, amount):
    error = assert_error(_post(api, world, tx_payload(account, amount=amount)), 400)
    assert "amount" in error["fields"]
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("amount", ["1,00", "1e3", "abc", "", " 1.00", "1.00\n", "NaN"])
def test_malformed_amount_string_is_400(world, api, account, amount):
    error = assert_error(_post(api, world, tx_payload(account, amount=amount)), 400)
    assert "amount" in error["fields"]


@pytest.mark.parametrize(
    ("currency", "amount", "wire"),
    [
        ("EUR", "1.23", "1.23"), ("EUR", "-7", "-7.00"), ("EUR", "1.230", "1.23"),
        ("JPY", "1500", "1500"), ("JPY", "-3.000", "-3"), ("BHD", "1.234", "1.234"),
        ("BHD", "0.5", "0.500"), ("EUR", "9999999999999999.99", "9999999999999999.99"),
    ],
)  # fmt: skip
def test_amount_precision_accepted(world, api, currency, amount, wire):
    acc = AccountFactory(organization=world.org, currency=currency)
    assert _created(api, world, tx_payload(acc, amount=amount))["amount"] == wire


@pytest.mark.parametrize(
    ("currency", "amount"),
    [
        ("EUR", "1.234"), ("EUR", "0.001"), ("JPY", "1.5"), ("JPY", "0.1"), ("BHD", "1.2345"),
        ("EUR", "0.1000000000000000000000000000001"), ("EUR", "1234567890123456.0000000000001"),
    ],
)  # fmt: skip
def test_too_many_decimals_is_422_never_rounded(world, api, currency, amount):
    acc = AccountFactory(organization=world.org, currency=currency)
    error = assert_error(_post(api, world, tx_payload(acc, amount=amount)), 422, "amount_precision")
    assert error["fields"]["amount"][0]["code"] == "amount_precision"
    assert not Transaction.objects.exists()


def test_too_many_integer_digits_is_refused(world, api, account):
    response = _post(api, world, tx_payload(account, amount="1" + "0" * 16))
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)
    assert not Transaction.objects.exists()


def test_notes_up_to_10000_characters(world, api, account):
    assert len(_created(api, world, tx_payload(account, notes="n" * 10_000))["notes"]) == 10_000
    error = assert_error(_post(api, world, tx_payload(account, notes="n" * 10_001)), 422)
    assert error["fields"]["notes"][0]["code"] == "max_length"
    assert Transaction.objects.count() == 1


def test_metadata_limits_accepted_at_the_edge(world, api, account):
    metadata = {f"k{i}": "v" for i in range(49)} | {"x" * 40: "y" * 500}
    assert _created(api, world, tx_payload(account, metadata=metadata))["metadata"] == metadata


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ({f"k{i}": "v" for i in range(51)}, "metadata_too_many_keys"),
        ({"k" * 41: "v"}, "metadata_key_too_long"),
        ({"k": "v" * 501}, "metadata_value_too_long"),
    ],
)
def test_metadata_rules_are_422(world, api, account, metadata, code):
    error = assert_error(_post(api, world, tx_payload(account, metadata=metadata)), 422, code)
    assert any(e["code"] == code for errs in error["fields"].values() for e in errs)
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("metadata", [{"k": 1}, {"k": None}, {"k": {"a": "b"}}, ["a"], "text"])
def test_metadata_of_the_wrong_shape_is_400(world, api, account, metadata):
    assert_error(_post(api, world, tx_payload(account, metadata=metadata)), 400)
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("metadata", [{"k": "a\u0000b"}, {"a\u0000b": "v"}])
def test_nul_characters_in_metadata_are_refused_not_a_crash(world, api, account, metadata):
    response = _post(api, world, tx_payload(account, metadata=metadata))
    assert response.status_code in (400, 422), response.content[:300]
    assert_error(response, response.status_code)


@pytest.mark.parametrize("status", ["pending", "cleared"])
def test_status_pending_or_cleared(world, api, account, status):
    assert _created(api, world, tx_payload(account, status=status))["status"] == status


def test_status_reconciled_is_422(world, api, account):
    error = assert_error(
        _post(api, world, tx_payload(account, status="reconciled")), 422, "status_reconciled"
    )
    assert error["fields"]["status"][0]["code"] == "status_reconciled"
    assert not Transaction.objects.exists()


def test_splits_must_sum_exactly(world, api, account):
    error = assert_error(
        _post(api, world, tx_payload(account, splits=[{"amount": "-10.00"}, {"amount": "-2.29"}])),
        422,
        "splits_sum_mismatch",
    )
    assert "splits" in error["fields"]
    assert not Transaction.objects.exists()
    assert not Split.objects.exists()


def test_split_precision_is_checked_per_split(world, api, account):
    error = assert_error(
        _post(
            api, world, tx_payload(account, splits=[{"amount": "-10.001"}, {"amount": "-2.299"}])
        ),
        422,
    )
    assert error["fields"]["splits.0.amount"][0]["code"] == "amount_precision"
    assert error["fields"]["splits.1.amount"][0]["code"] == "amount_precision"


def test_split_amount_as_number_is_400(world, api, account):
    error = assert_error(_post(api, world, tx_payload(account, splits=[{"amount": -12.3}])), 400)
    assert "splits.0.amount" in error["fields"]


def test_another_orgs_account_is_422_not_found_and_not_leaked(world, api):
    foreign = AccountFactory(organization=world.other_org, name="Secret Savings")
    response = _post(api, world, tx_payload(foreign))
    # The field says not_found; the top-level code is invalid_reference (a top-level not_found
    # always means 404).
    error = assert_error(response, 422, "invalid_reference")
    assert error["fields"]["account"][0]["code"] == "not_found"
    assert "Secret" not in response.content.decode()
    missing = _post(api, world, {**tx_payload(foreign), "account": 10**6})
    assert assert_error(missing, 422, "invalid_reference")["fields"] == error["fields"]
    assert not Transaction.objects.exists()


def test_another_orgs_category_is_422_not_found(world, api, account):
    foreign = CategoryFactory(organization=world.other_org, name="Hidden")
    error = assert_error(_post(api, world, tx_payload(account, category=foreign.pk)), 422)
    assert error["fields"]["category"][0]["code"] == "not_found"
    split_error = assert_error(
        _post(
            api, world, tx_payload(account, splits=[{"amount": "-12.30", "category": foreign.pk}])
        ),
        422,
    )
    assert split_error["fields"]["splits.0.category"][0]["code"] == "not_found"
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("ref", [2**63, 10**30, -1])
def test_out_of_range_ids_are_refused_not_a_crash(world, api, account, ref):
    response = _post(api, world, tx_payload(account) | {"account": ref})
    assert response.status_code in (400, 422), response.content[:300]
    response = _post(api, world, tx_payload(account, category=ref))
    assert response.status_code in (400, 422), response.content[:300]


def test_archived_account_is_409(world, api):
    archived = AccountFactory(organization=world.org, archived=True)
    assert_error(_post(api, world, tx_payload(archived)), 409, "account_archived")
    assert not Transaction.objects.exists()


def test_unicode_and_control_characters_round_trip(world, api, account):
    text = "Caf\u00e9 \u2615 \U0001f600 \u05e9\u05dc\u05d5\u05dd e\u0301 \u200b a\tb\u0001c\u001fd"
    body = _created(
        api,
        world,
        tx_payload(
            account,
            description=text,
            counterparty="\u4e2d\u6587\u0007",
            notes="line1\nline2\r\n\u0002end",
            reference="\u00df\u00f8",
            tags=["\u00e9t\u00e9", "\U0001f600"],
            metadata={"cl\u00e9\u0003": text},
        ),
    )
    fetched = api.get(f"{tx_base(world)}{body['id']}/").json()
    for seen in (body, fetched):
        assert seen["description"] == text
        assert seen["counterparty"] == "\u4e2d\u6587\u0007"
        assert seen["notes"] == "line1\nline2\r\n\u0002end"
        assert seen["reference"] == "\u00df\u00f8"
        assert sorted(seen["tags"]) == sorted(["\u00e9t\u00e9", "\U0001f600"])
        assert seen["metadata"] == {"cl\u00e9\u0003": text}


def test_nul_character_in_text_is_refused(world, api, account):
    response = _post(api, world, tx_payload(account, description="a\u0000b"))
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


@pytest.mark.parametrize(
    "payload",
    [
        {"surprise": 1},
        {"splits": [{"amount": "-12.30", "extra": True}]},
    ],
)
def test_unknown_field_is_400(world, api, account, payload):
    error = assert_error(_post(api, world, tx_payload(account) | payload), 400, "unknown_field")
    assert error["fields"]


@pytest.mark.parametrize("missing", ["account", "occurred_on", "amount"])
def test_missing_required_field_is_400(world, api, account, missing):
    payload = tx_payload(account)
    del payload[missing]
    error = assert_error(_post(api, world, payload), 400)
    assert error["fields"][missing][0]["code"] == "required"


@pytest.mark.parametrize(
    "payload",
    [
        {"occurred_on": "2026-02-30"},
        {"occurred_on": 20260101},
        {"account": "abc"},
        {"tags": "food"},
        {"description": 12},
        {"splits": {"amount": "1"}},
    ],
)
def test_wrong_shapes_are_400(world, api, account, payload):
    assert_error(_post(api, world, tx_payload(account) | payload), 400)


def test_body_that_is_not_json_is_400(world, api):
    response = api.post(tx_base(world), "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_list_create_wrong_method_is_405(world, api):
    assert_error(api.put(tx_base(world), {}, format="json"), 405, "method_not_allowed")
    assert_error(api.delete(tx_base(world)), 405, "method_not_allowed")


def test_list_create_unauthenticated_is_401(world, account):
    anonymous = client_for(None)
    assert_error(anonymous.get(tx_base(world)), 401, "not_authenticated")
    assert_error(anonymous.post(tx_base(world), tx_payload(account), format="json"), 401)
    assert not Transaction.objects.exists()


def test_list_create_other_org_is_404(world, account):
    assert_other_org_is_404(world.outsider, "get", tx_base(world))
    assert_other_org_is_404(world.outsider, "post", tx_base(world), tx_payload(account))
    assert not Transaction.objects.exists()


def test_viewer_reads_but_cannot_write(world, account):
    viewer = client_for(world.viewer)
    assert_error(viewer.post(tx_base(world), tx_payload(account), format="json"), 403)
    assert not Transaction.objects.exists()
    assert viewer.get(tx_base(world)).status_code == 200


# --- Hypothesis: splits and amounts ---------------------------------------------------------------
@st.composite
def _amount_and_splits(draw):
    currency = draw(st.sampled_from(["EUR", "JPY", "BHD"]))
    parts = draw(st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=6))
    mismatch = draw(st.sampled_from([0, 0, 1, -1, 10]))
    return currency, parts, sum(parts) + mismatch


@HYPOTHESIS
@given(data=_amount_and_splits())
def test_accepted_splits_always_sum_to_the_amount(world, api, data):
    currency, parts, total_units = data
    places = {"EUR": 2, "JPY": 0, "BHD": 3}[currency]
    acc, _ = Account.objects.get_or_create(
        organization=world.org, name=f"H-{currency}", defaults={"currency": currency}
    )

    def wire(units):
        return format_amount(Decimal(units).scaleb(-places), currency)

    payload = tx_payload(acc, amount=wire(total_units), splits=[{"amount": wire(p)} for p in parts])
    response = _post(api, world, payload)
    if total_units == sum(parts):
        assert response.status_code == 201, response.json()
        body = response.json()
        assert [s["amount"] for s in body["splits"]] == [wire(p) for p in parts]
        stored = Split.objects.filter(transaction_id=body["id"]).values_list("amount", flat=True)
        assert sum(stored, Decimal(0)) == Transaction.objects.get(pk=body["id"]).amount
        assert body["amount"] == wire(total_units)
    else:
        assert_error(response, 422, "splits_sum_mismatch")


@HYPOTHESIS
@given(
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
    units=st.integers(min_value=-(10**15), max_value=10**15),
    padding=st.integers(min_value=0, max_value=3),
)
def test_amount_strings_round_trip(world, api, currency, units, padding):
    places = {"EUR": 2, "JPY": 0, "BHD": 3}[currency]
    acc, _ = Account.objects.get_or_create(
        organization=world.org, name=f"R-{currency}", defaults={"currency": currency}
    )
    canonical = format_amount(Decimal(units).scaleb(-places), currency)
    sent = canonical
    if padding and "." not in sent:
        sent += "." + "0" * padding
    elif padding:
        sent += "0" * padding
    body = _created(api, world, tx_payload(acc, amount=sent))
    assert body["amount"] == canonical
    again = api.get(f"{tx_base(world)}{body['id']}/").json()
    assert again["amount"] == canonical


# --- List -----------------------------------------------------------------------------------------
def _list(api, world, **params):
    response = api.get(tx_base(world), params)
    assert response.status_code == 200, response.json()
    return response.json()


def _ids(api, world, **params):
    return [t["id"] for t in _list(api, world, **params)["results"]]


def test_list_returns_this_orgs_live_rows_newest_first(world, api, account):
    old = TransactionFactory(account=account, occurred_on=date(2026, 1, 1))
    new = TransactionFactory(account=account, occurred_on=date(2026, 3, 1))
    mid_a = TransactionFactory(account=account, occurred_on=date(2026, 2, 1))
    mid_b = TransactionFactory(account=account, occurred_on=date(2026, 2, 1))
    TransactionFactory(account=account, deleted_at=timezone.now())
    TransactionFactory(account=AccountFactory(organization=world.other_org))
    body = _list(api, world)
    assert [t["id"] for t in body["results"]] == [new.pk, mid_b.pk, mid_a.pk, old.pk]
    assert body["next_cursor"] is None
    assert body["results"][0]["amount"] == "-10.00"
    assert body["results"][0]["etag"] == f'"{new.pk}-1"'


def test_deleted_rows_are_not_listed(world, api, account):
    keep = _created(api, world, tx_payload(account))
    gone = _created(api, world, tx_payload(account))
    assert api.delete(f"{tx_base(world)}{gone['id']}/").status_code == 204
    assert _ids(api, world) == [keep["id"]]


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("-occurred_on", lambda t: (t.occurred_on, t.pk)),
        ("occurred_on", lambda t: (t.occurred_on, t.pk)),
        ("-amount", lambda t: (t.amount, t.pk)),
        ("amount", lambda t: (t.amount, t.pk)),
    ],
)
def test_orderings(world, api, account, ordering, key):
    rows = [
        TransactionFactory(account=account, occurred_on=date(2026, 1, d), amount=Decimal(a))
        for d, a in [(3, "5.00"), (1, "-2.50"), (2, "5.00"), (3, "100.00"), (1, "-30.00")]
    ]
    expected = sorted(rows, key=key, reverse=ordering.startswith("-"))
    assert _ids(api, world, ordering=ordering) == [t.pk for t in expected]


def test_unknown_ordering_is_refused(world, api):
    response = api.get(tx_base(world), {"ordering": "description"})
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


def test_filter_by_dates_inclusive(world, api, account):
    days = {d: TransactionFactory(account=account, occurred_on=date(2026, 1, d)) for d in (1, 5, 9)}
    assert _ids(api, world, date_from="2026-01-05") == [days[9].pk, days[5].pk]
    assert _ids(api, world, date_to="2026-01-05") == [days[5].pk, days[1].pk]
    assert _ids(api, world, date_from="2026-01-05", date_to="2026-01-05") == [days[5].pk]
    response = api.get(tx_base(world), {"date_from": "2026-01-06", "date_to": "2026-01-04"})
    assert assert_error(response, 400, "reversed_range")["fields"] == {
        "date_to": [{"code": "reversed_range", "message": "date_to is before date_from."}]
    }
    assert_error(api.get(tx_base(world), {"date_from": "2026-13-01"}), 400)


def test_filter_by_amount_range_inclusive(world, api, account):
    rows = {
        a: TransactionFactory(account=account, amount=Decimal(a))
        for a in ("-50.00", "-10.00", "0.00", "10.01", "99.99")
    }
    found = set(_ids(api, world, amount_min="-10.00", amount_max="10.01"))
    assert found == {rows["-10.00"].pk, rows["0.00"].pk, rows["10.01"].pk}
    assert set(_ids(api, world, amount_min="10")) == {rows["10.01"].pk, rows["99.99"].pk}
    assert set(_ids(api, world, amount_max="-50")) == {rows["-50.00"].pk}
    assert_error(api.get(tx_base(world), {"amount_min": "ten"}), 400)


def test_filter_by_account(world, api, account):
    other = AccountFactory(organization=world.org)
    mine = TransactionFactory(account=account)
    TransactionFactory(account=other)
    assert _ids(api, world, account=account.pk) == [mine.pk]
    foreign = AccountFactory(organization=world.other_org)
    TransactionFactory(account=foreign)
    assert _ids(api, world, account=foreign.pk) == []
    assert_error(api.get(tx_base(world), {"account": "x"}), 400)


def test_filter_by_category_includes_descendants(world, api, account):
    root = CategoryFactory(organization=world.org, name="Living")
    child = CategoryFactory(organization=world.org, parent=root, name="Food")
    grandchild = CategoryFactory(organization=world.org, parent=child, name="Bakery")
    sibling = CategoryFactory(organization=world.org, name="Travel")
    at = {
        c.name: TransactionFactory(account=account, category=c)
        for c in (root, child, grandchild, sibling)
    }
    TransactionFactory(account=account)  # uncategorised
    assert set(_ids(api, world, category=root.pk)) == {
        at["Living"].pk, at["Food"].pk, at["Bakery"].pk
    }  # fmt: skip
    assert set(_ids(api, world, category=child.pk)) == {at["Food"].pk, at["Bakery"].pk}
    assert _ids(api, world, category=grandchild.pk) == [at["Bakery"].pk]
    assert _ids(api, world, category=sibling.pk) == [at["Travel"].pk]
    foreign = CategoryFactory(organization=world.other_org)
    assert _ids(api, world, category=foreign.pk) == []


def test_filter_by_status(world, api, account):
    pending = TransactionFactory(account=account, status="pending")
    cleared = TransactionFactory(account=account, status="cleared")
    assert _ids(api, world, status="pending") == [pending.pk]
    assert _ids(api, world, status="cleared") == [cleared.pk]
    assert _ids(api, world, status="reconciled") == []


def test_filter_by_tag(world, api, account):
    a = _created(api, world, tx_payload(account, tags=["food", "home"]))
    b = _created(api, world, tx_payload(account, tags=["food"]))
    _created(api, world, tx_payload(account, tags=["travel"]))
    Tag.objects.create(organization=world.other_org, name="home")
    assert set(_ids(api, world, tag="food")) == {a["id"], b["id"]}
    assert _ids(api, world, tag="home") == [a["id"]]
    assert _ids(api, world, tag="none") == []


def test_filter_q_searches_every_text_a_person_typed(world, api, account):
    by_desc = TransactionFactory(account=account, description="Weekly GROCERIES run")
    by_party = TransactionFactory(account=account, counterparty="The Grocery Co")
    by_notes = TransactionFactory(account=account, description="Rent", notes="grocer")
    by_ref = TransactionFactory(account=account, description="Card", reference="GROCER-17")
    by_memo = TransactionFactory(account=account, description="Market", amount=Decimal("-5.00"))
    Split.objects.create(transaction=by_memo, amount=Decimal("-5.00"), memo="grocer run")
    TransactionFactory(account=account, description="100% off")
    assert set(_ids(api, world, q="grocer")) == {
        by_desc.pk,
        by_party.pk,
        by_notes.pk,
        by_ref.pk,
        by_memo.pk,
    }
    assert _ids(api, world, q="%") != []
    assert len(_ids(api, world, q="%")) == 1
    assert _ids(api, world, q="_") == []


def test_filters_combine(world, api, account):
    hit = TransactionFactory(
        account=account, status="cleared", occurred_on=date(2026, 1, 5), description="x coffee"
    )
    TransactionFactory(
        account=account, status="pending", occurred_on=date(2026, 1, 5), description="coffee"
    )
    TransactionFactory(
        account=account, status="cleared", occurred_on=date(2026, 2, 5), description="coffee"
    )
    found = _ids(api, world, status="cleared", date_to="2026-01-31", q="coffee")
    assert found == [hit.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"uncategorised": "true"}, "uncategorised"),  # a misspelt filter filters nothing: refused
        ({"counterpart": "ACME"}, "counterpart"),
        ({"page": "2"}, "page"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
        ({"amount_min": "10", "amount_max": "-10"}, "amount_max"),
        ({"uncategorized": "maybe"}, "uncategorized"),
        ({"has_attachments": "yes please"}, "has_attachments"),
        ({"currency": "eur"}, "currency"),
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"amount_min": "1e400"}, "amount_min"),
        ({"running_balance": "true"}, "running_balance"),  # needs one account
    ],
)
def test_unknown_or_contradictory_parameters_are_400_naming_the_field(world, api, params, field):
    response = api.get(tx_base(world), params)
    error = assert_error(response, 400)
    assert list(error["fields"]) == [field]
    assert field in error["message"]


def test_empty_values_are_no_filter(world, api, account):
    TransactionFactory.create_batch(2, account=account)
    params = dict.fromkeys(("q", "date_from", "account", "category", "uncategorized"), "")
    assert len(_list(api, world, **params)["results"]) == 2


# --- Pagination -----------------------------------------------------------------------------------
def _walk(api, world, **params):
    seen, cursor, pages = [], None, 0
    while True:
        body = _list(api, world, **params, **({"cursor": cursor} if cursor else {}))
        seen += [t["id"] for t in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 100


@pytest.mark.parametrize("ordering", ["-occurred_on", "occurred_on", "-amount", "amount"])
def test_walking_pages_yields_every_row_once_in_order(world, api, account, ordering):
    # Many equal dates and equal amounts: the id breaks ties.
    for i in range(23):
        TransactionFactory(
            account=account,
            occurred_on=date(2026, 1, 1) + timedelta(days=i % 3),
            amount=Decimal(("-5.00", "7.25")[i % 2]),
        )
    everything = _ids(api, world, ordering=ordering, limit=500)
    assert len(everything) == 23
    for limit in (1, 4, 7, 22, 23):
        seen, pages = _walk(api, world, ordering=ordering, limit=limit)
        assert seen == everything
        assert pages == -(-23 // limit)


def test_pagination_keeps_filters(world, api, account):
    for i in range(9):
        TransactionFactory(account=account, status=("pending", "cleared")[i % 2])
    seen, _ = _walk(api, world, status="pending", limit=2)
    assert seen == list(
        Transaction.objects.filter(status="pending")
        .order_by("-occurred_on", "-id")
        .values_list("pk", flat=True)
    )


def test_limit_defaults_to_50_and_caps_at_500(world, api, account):
    TransactionFactory.create_batch(51, account=account)
    body = _list(api, world)
    assert len(body["results"]) == 50
    assert body["next_cursor"]
    assert len(_list(api, world, limit=500)["results"]) == 51
    assert len(_list(api, world, limit=1)["results"]) == 1


@pytest.mark.parametrize("limit", ["501", "0", "100000"])
def test_limit_out_of_range_is_422(world, api, limit):
    error = assert_error(api.get(tx_base(world), {"limit": limit}), 422, "limit_out_of_range")
    assert "limit" in error["fields"]


@pytest.mark.parametrize("limit", ["abc", "1.5", "²", "-1", "٣"])
def test_limit_that_is_not_a_number_is_400(world, api, limit):
    assert_error(api.get(tx_base(world), {"limit": limit}), 400)


def test_forged_cursor_is_400(world, api, account):
    TransactionFactory.create_batch(3, account=account)
    cursor = _list(api, world, limit=1)["next_cursor"]
    for forged in (
        "abc",
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
        cursor + "x",
    ):
        error = assert_error(api.get(tx_base(world), {"cursor": forged}), 400, "invalid_cursor")
        assert "cursor" in error["fields"]


def test_cursor_from_another_org_is_400(world, account):
    foreign = AccountFactory(organization=world.other_org)
    TransactionFactory.create_batch(3, account=foreign)
    TransactionFactory.create_batch(3, account=account)
    outsider = client_for(world.outsider)
    theirs = outsider.get(f"/api/v1/orgs/{world.other_org.slug}/transactions/", {"limit": 1})
    cursor = theirs.json()["next_cursor"]
    assert cursor
    response = client_for(world.member).get(tx_base(world), {"cursor": cursor, "limit": 1})
    assert_error(response, 400, "invalid_cursor")


@pytest.mark.parametrize(
    ("made_for", "used_with"),
    [("-occurred_on", "-amount"), ("amount", "-amount"), ("occurred_on", "-occurred_on")],
)
def test_cursor_from_another_ordering_is_400(world, api, account, made_for, used_with):
    TransactionFactory.create_batch(3, account=account)
    cursor = _list(api, world, limit=1, ordering=made_for)["next_cursor"]
    assert cursor
    response = api.get(tx_base(world), {"cursor": cursor, "ordering": used_with})
    assert_error(response, 400, "invalid_cursor")


def test_queries_per_page_are_constant(world, api, account, django_assert_max_num_queries):
    root = CategoryFactory(organization=world.org)
    child = CategoryFactory(organization=world.org, parent=root)
    tags = [Tag.objects.create(organization=world.org, name=f"t{i}") for i in range(3)]
    for i in range(120):
        tx = TransactionFactory(
            account=account, occurred_on=date(2026, 1, 1) + timedelta(days=i % 4),
            category=child,
        )  # fmt: skip
        tx.tags.add(*tags[: i % 4])
        Split.objects.create(transaction=tx, amount=Decimal("-4.00"), position=0)
        Split.objects.create(transaction=tx, amount=Decimal("-6.00"), position=1)

    def page_queries(**params):
        with CaptureQueriesContext(connection) as captured:
            body = _list(api, world, **params)
        return len(captured), body

    counts = []
    for params in (
        {"limit": 1},
        {"limit": 100},
        {"limit": 500},
        {"category": root.pk, "limit": 60},
    ):
        cursor = None
        for _ in range(3):
            with django_assert_max_num_queries(12):
                n, body = page_queries(**params, **({"cursor": cursor} if cursor else {}))
            counts.append((n, "category" in params))
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert all(len(t["splits"]) == 2 for t in body["results"])
    plain = {n for n, with_category in counts if not with_category}
    assert len(plain) == 1, counts
    filtered = {n for n, with_category in counts if with_category}
    assert len(filtered) == 1, counts


@pytest.mark.parametrize("name", ["account", "category"])
@pytest.mark.parametrize("value", ["0", "-1", str(10**20)])
def test_id_filters_that_match_nothing_return_nothing(world, api, account, name, value):
    TransactionFactory(account=account, category=CategoryFactory(organization=world.org))
    response = api.get(tx_base(world), {name: value})
    if response.status_code == 200:
        assert response.json()["results"] == []
    else:
        assert_error(response, 400)
