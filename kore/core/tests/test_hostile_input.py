"""Hostile values through the real endpoints: lone surrogates, ids beyond 64 bits, deep mappings,
huge exponents. Each is a 4xx with a stable code and writes nothing; none is a 500.

Runs on whichever database the suite uses; ``test_hostile_input_on_sqlite`` runs this module
again on SQLite (the embedded runtime), where ids beyond 64 bits used to crash the driver.
"""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kore.core.testing import OrgWorld, assert_error, client_for
from kore.imports.models import ImportJob
from kore.ledger.models import Account, Category, Statement, Transaction
from kore.ledger.tests.factories import AccountFactory, CategoryFactory
from kore.ledger.tests.factories_tx import TransactionFactory

HUGE_IDS: list[Any] = [2**64, 2**63, -1, 0, "1e309", "18446744073709551616"]
SURROGATE = "\\ud83d"  # as it appears in JSON text: an escape without its low half


@pytest.fixture
def account(world: OrgWorld) -> Account:
    return AccountFactory(organization=world.org, currency="EUR")


@pytest.fixture
def api(world: OrgWorld) -> Any:
    client = client_for(world.owner)
    client.raise_request_exception = False  # a 500 is an answer to assert on, not an exception
    return client


def _org(world: OrgWorld) -> str:
    return f"/api/v1/orgs/{world.org.slug}/"


def _tx_body(account: Account, extra: str = "") -> str:
    return f'{{"account": {account.pk}, "occurred_on": "2026-01-15", "amount": "-1.00"{extra}}}'


# --- Lone surrogates ------------------------------------------------------------------------------
def test_a_metadata_key_with_a_lone_surrogate_is_400_and_nothing_is_stored(world, api, account):
    body = _tx_body(account, f', "metadata": {{"{SURROGATE}": "x"}}')
    response = api.post(_org(world) + "transactions/", body, content_type="application/json")
    assert_error(response, 400, "invalid_unicode")
    assert not Transaction.objects.exists()
    assert not Transaction.history.exists()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "extra",
    [
        f', "metadata": {{"k": "{SURROGATE}"}}',
        f', "description": "caf\\u00e9 {SURROGATE}"',
        f', "tags": ["{SURROGATE}"]',
        f', "{SURROGATE}": 1',  # an unknown key is echoed back in the error's fields
        ', "splits": [{"amount": "-1.00", "memo": "\\udc00"}]',
    ],
)
def test_a_lone_surrogate_anywhere_in_a_json_body_is_400(world, api, account, extra):
    body = _tx_body(account, extra)
    response = api.post(_org(world) + "transactions/", body, content_type="application/json")
    assert_error(response, 400, "invalid_unicode")
    assert not Transaction.objects.exists()


def test_a_surrogate_pair_is_a_character_and_is_kept(world, api, account):
    body = _tx_body(account, ', "metadata": {"\\ud83d\\ude00": "\\ud83d\\ude00"}')
    response = api.post(_org(world) + "transactions/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["metadata"] == {"\U0001f600": "\U0001f600"}


def test_a_lone_surrogate_in_a_bulk_item_or_filter_is_400(world, api, account):
    org = _org(world)
    item = _tx_body(account, f', "metadata": {{"{SURROGATE}": "x"}}')
    body = f'{{"items": [{item}]}}'
    response = api.post(org + "transactions/bulk/", body, content_type="application/json")
    assert_error(response, 400, "invalid_unicode")
    body = f'{{"filter": {{"q": "{SURROGATE}"}}, "set": {{"status": "cleared"}}}}'
    response = api.post(org + "transactions/bulk-update/", body, content_type="application/json")
    assert_error(response, 400, "invalid_unicode")
    assert not Transaction.objects.exists()


def test_a_lone_surrogate_in_an_import_mapping_is_400_and_no_job(world, api, account):
    response = api.post(
        _org(world) + "imports/",
        {"file": _csv(), "account": account.pk, "mapping": f'{{"date": "{SURROGATE}"}}'},
        format="multipart",
    )
    assert_error(response, 400, "invalid_unicode")
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "q=%ED%A0%BD",  # the UTF-8 bytes of a surrogate: not valid UTF-8
        "q=%F0%9F%98",  # a truncated 4-byte sequence
        "ordering=%ED%A0%BD",  # a bad choice is echoed back in the error
        "tag=%ED%A0%BDx&status=%ED%A0%BD",
    ],
)
def test_broken_utf8_in_query_parameters_is_never_a_500(world, api, account, query):
    TransactionFactory(account=account, description="coffee")
    response = api.get(f"{_org(world)}transactions/?{query}")
    assert response.status_code in (200, 400, 422), response.content[:300]
    assert "\ufffd" not in response.content.decode() or response.status_code != 200


def test_broken_utf8_in_a_multipart_field_becomes_a_replacement_character(world, api, account):
    client = Client()
    client.force_login(world.owner)
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        "date,amount\r\n2026-01-02,1.00\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="account"\r\n\r\n'
        f"{account.pk}\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="mapping"\r\n\r\n'
    ).encode()
    body += b'{"date": "date\xed\xa0\xbd", "amount": "amount"}\r\n' + f"--{boundary}--\r\n".encode()
    response = api.post(
        _org(world) + "imports/", body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 202, response.content[:300]
    job = ImportJob.objects.get()
    assert job.mapping["date"].startswith("date\ufffd")


def test_broken_utf8_in_a_web_form_is_stored_as_replacement_characters(world, account):
    client = Client()
    client.force_login(world.owner)
    client.raise_request_exception = False
    body = (
        f"account={account.pk}&occurred_on=2026-01-15&amount=-1.00&status=pending"
        "&description=caf%ED%A0%BD&counterparty=%ED%A0%BD"
    )
    response = client.post(
        f"/o/{world.org.slug}/transactions/new/",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 302), response.content[:300]
    tx = Transaction.objects.get()
    assert tx.description.startswith("caf\ufffd")
    assert client.get(f"/o/{world.org.slug}/transactions/{tx.pk}/").status_code == 200


# --- Ids beyond 64 bits, negative, zero, not integers --------------------------------------------
def _id_requests(world: OrgWorld, account: Account, category: Category, bad: Any) -> list[Any]:
    """(method, path, body or query) for every place the API takes an id."""
    org = _org(world)
    tx = {"account": account.pk, "occurred_on": "2026-01-15", "amount": "-1.00"}
    return [
        ("post", org + "transactions/", {**tx, "account": bad}),
        ("post", org + "transactions/", {**tx, "category": bad}),
        ("post", org + "transactions/", {**tx, "splits": [{"amount": "-1.00", "category": bad}]}),
        ("post", org + "transactions/bulk/", {"items": [{**tx, "account": bad}]}),
        ("post", org + "transactions/bulk-delete/", {"ids": [bad]}),
        ("post", org + "transactions/bulk-update/", {"ids": [bad], "set": {"status": "cleared"}}),
        ("post", org + "transactions/bulk-update/", {"filter": {"account": bad}, "set": {}}),
        ("post", org + "transactions/bulk-update/", {"ids": [1], "set": {"category": bad}}),
        ("post", org + "transfers/", {"from_account": bad, "to_account": account.pk,
                                      "amount": "1.00", "occurred_on": "2026-01-15"}),
        ("post", org + "statements/", {"account": bad, "end_date": "2026-01-31",
                                       "closing_balance": "0.00"}),
        ("post", org + "categories/", {"name": "x", "parent": bad}),
        ("patch", f"{org}categories/{category.pk}/", {"parent": bad}),
        ("delete", f"{org}categories/{category.pk}/?reassign_to={bad}", None),
        ("get", org + "transactions/", {"account": bad}),
        ("get", org + "transactions/", {"category": bad}),
        ("get", org + "transactions/", {"category": bad, "q": "x"}),
        ("get", org + "transactions/export/", {"account": bad}),
        ("get", org + "attachments/", {"transaction": bad}),
        ("get", org + "audit/", {"object_type": "transaction", "object_id": bad}),
    ]  # fmt: skip


@pytest.mark.parametrize("bad", HUGE_IDS, ids=str)
def test_an_id_that_is_not_1_to_2_63_minus_1_is_4xx_everywhere(world, api, account, bad):
    category = CategoryFactory(organization=world.org)
    before = (Transaction.objects.count(), Statement.objects.count(), Category.objects.count())
    for method, path, data in _id_requests(world, account, category, bad):
        if method == "get":
            response = api.get(path, data)
        else:
            response = getattr(api, method)(path, data, format="json")
        assert 400 <= response.status_code < 500, (method, path, data, response.content[:300])
        assert_error(response, response.status_code)
    after = (Transaction.objects.count(), Statement.objects.count(), Category.objects.count())
    assert after == before


@pytest.mark.parametrize("bad", [2**64, 2**63], ids=str)
def test_an_id_beyond_64_bits_is_400_invalid_id(world, api, account, bad):
    response = api.post(
        _org(world) + "transactions/",
        {"account": bad, "occurred_on": "2026-01-15", "amount": "-1.00"},
        format="json",
    )
    error = assert_error(response, 400, "invalid_id")
    assert error["fields"]["account"][0]["code"] == "invalid_id"


def test_an_import_for_an_account_beyond_64_bits_is_400_and_no_job(world, api):
    response = api.post(
        _org(world) + "imports/", {"file": _csv(), "account": 2**64}, format="multipart"
    )
    assert_error(response, 400, "invalid_id")
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("bad", ["18446744073709551616", "-1", "0", "1e309"])
def test_the_web_bulk_form_refuses_ids_that_are_not_ids(world, account, bad):
    tx = TransactionFactory(account=account)
    client = Client()
    client.force_login(world.owner)
    client.raise_request_exception = False
    response = client.post(
        f"/o/{world.org.slug}/transactions/bulk/", {"ids": [str(tx.pk), bad], "action": "delete"}
    )
    assert response.status_code == 302, response.content[:300]
    assert Transaction.objects.get(pk=tx.pk).deleted_at is None


def test_the_web_split_editor_ignores_a_category_beyond_64_bits(world, account):
    client = Client()
    client.force_login(world.owner)
    client.raise_request_exception = False
    response = client.post(
        f"/o/{world.org.slug}/transactions/new/",
        {
            "account": account.pk, "occurred_on": "2026-01-15", "amount": "-1.00",
            "status": "pending", "splits_used": "1",
            "split_category": ["18446744073709551616"], "split_amount": ["-1.00"],
            "split_memo": [""],
        },
    )  # fmt: skip
    assert response.status_code in (200, 302), response.content[:300]
    assert Transaction.objects.get().splits.get().category_id is None


def test_the_web_category_form_ignores_a_parent_beyond_64_bits(world):
    category = CategoryFactory(organization=world.org)
    client = Client()
    client.force_login(world.owner)
    client.raise_request_exception = False
    response = client.post(
        f"/o/{world.org.slug}/categories/{category.pk}/",
        {"parent": "18446744073709551616", "name": "Renamed"},
    )
    assert response.status_code == 302, response.content[:300]
    assert Category.objects.get(pk=category.pk).parent_id is None


# --- Import mappings: size and depth --------------------------------------------------------------
def _csv() -> SimpleUploadedFile:
    return SimpleUploadedFile("x.csv", b"date,amount\n2026-01-02,1.00\n")


@pytest.mark.parametrize(
    "mapping",
    ["[" * 100_000, "[" * 5_000 + "]" * 5_000, '{"date": ' * 3_000 + "1" + "}" * 3_000],
    ids=["unclosed", "deep-list", "deep-object"],
)
def test_a_deeply_nested_mapping_is_400_and_no_job(world, api, account, mapping):
    response = api.post(
        _org(world) + "imports/",
        {"file": _csv(), "account": account.pk, "mapping": mapping},
        format="multipart",
    )
    error = assert_error(response, 400)
    assert error["code"] in ("parse_error", "invalid_request")
    assert "mapping" in error["fields"]
    assert not ImportJob.objects.exists()


def test_a_nested_mapping_within_the_size_is_400_parse_error(world, api, account):
    response = api.post(
        _org(world) + "imports/",
        {"file": _csv(), "account": account.pk, "mapping": '{"date": {"a": "b"}}'},
        format="multipart",
    )
    error = assert_error(response, 400, "parse_error")
    assert "nested" in error["message"]


def test_a_mapping_over_16_kb_is_400(world, api, account):
    mapping = '{"date": "' + "d" * 17_000 + '"}'
    response = api.post(
        _org(world) + "imports/",
        {"file": _csv(), "account": account.pk, "mapping": mapping},
        format="multipart",
    )
    error = assert_error(response, 400)
    assert error["fields"]["mapping"][0]["code"] == "max_string_length"
    assert not ImportJob.objects.exists()


def test_a_valid_mapping_is_still_accepted(world, api, account):
    response = api.post(
        _org(world) + "imports/",
        {"file": _csv(), "account": account.pk, "mapping": '{"date": "date", "amount": "amount"}'},
        format="multipart",
    )
    assert response.status_code == 202, response.content[:300]
    assert ImportJob.objects.get().mapping == {"date": "date", "amount": "amount"}


# --- Other unbounded values: exponents, page sizes ------------------------------------------------
@pytest.mark.parametrize(
    "amount", ["1e999999", "1E+999999999", "-1e-999999", "9" * 5000], ids=lambda a: a[:12]
)
def test_an_amount_with_a_huge_exponent_or_length_is_4xx(world, api, account, amount):
    response = api.post(
        _org(world) + "transactions/",
        {"account": account.pk, "occurred_on": "2026-01-15", "amount": amount},
        format="json",
    )
    code = "amount_too_large" if response.status_code == 422 else "invalid_request"
    assert_error(response, 422 if code == "amount_too_large" else 400, code)
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("raw", ["1e999999", "1E+999999999", "-1e-999999", "NaN", "Infinity"])
def test_an_amount_filter_with_a_huge_exponent_is_4xx(world, api, raw):
    for name in ("amount_min", "amount_max"):
        response = api.get(_org(world) + "transactions/", {name: raw})
        assert_error(response, response.status_code)
        assert 400 <= response.status_code < 500


def test_a_json_number_with_a_huge_exponent_for_an_id_is_400(world, api, account):
    body = _tx_body(account, ', "category": 1e999999')
    response = api.post(_org(world) + "transactions/", body, content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize("limit", ["9" * 30, "1e309", "-1", "0"])
@pytest.mark.parametrize("path", ["transactions/", "transactions/changes/", "audit/", "imports/"])
def test_a_page_size_out_of_range_is_4xx(world, api, path, limit):
    response = api.get(_org(world) + path, {"limit": limit})
    assert_error(response, response.status_code)
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    "field", ["amount", "opening_balance"], ids=["web-transaction", "web-account"]
)
def test_a_web_amount_with_a_huge_exponent_is_the_form_again(world, account, field):
    client = Client()
    client.force_login(world.owner)
    client.raise_request_exception = False
    if field == "amount":
        path = f"/o/{world.org.slug}/transactions/new/"
        data = {"account": account.pk, "occurred_on": "2026-01-15", "amount": "1e999999",
                "status": "pending"}  # fmt: skip
    else:
        path = f"/o/{world.org.slug}/accounts/"
        data = {"name": "X", "kind": "bank", "currency": "EUR", "opening_balance": "1e999999"}
    response = client.post(path, data)
    assert response.status_code in (200, 400, 422), response.content[:300]
    assert not Transaction.objects.exists()
