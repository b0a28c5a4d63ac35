"""StrictJSONParser: bounded size and depth, Decimal numbers, no NaN, only Kore's errors."""

import contextlib
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from kore.core.exceptions import InvalidRequest, RequestTooLarge
from kore.core.parsers import StrictJSONParser
from kore.core.renderers import scrub_surrogates
from kore.core.testing import assert_error

TOKEN = "/api/v1/auth/token/"


def _parse(raw: bytes) -> Any:
    return StrictJSONParser().parse(io.BytesIO(raw), "application/json", {})


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


# --- Through the API ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body", [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 100_000 + b"]" * 100_000]
)
def test_very_deep_nesting_is_400_not_500(db, body):
    response = APIClient().post(TOKEN, body, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_nesting_just_over_the_limit_is_400(db):
    depth = settings.KORE_JSON_MAX_DEPTH + 1
    body = '{"email": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    response = APIClient().post(TOKEN, body, content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert "nested" in error["message"]


def test_nesting_at_the_limit_parses():
    limit = settings.KORE_JSON_MAX_DEPTH
    assert _depth(_parse(b"[" * limit + b"]" * limit)) == limit


def test_upload_limit_is_set():
    # Django's default is 2.5 MB; Kore sets its own, well below 10 MB.
    assert 0 < settings.DATA_UPLOAD_MAX_MEMORY_SIZE < 10 * 1024 * 1024


def test_ten_megabyte_body_is_413(db):
    body = json.dumps({"email": "a@example.com", "password": "x" * (10 * 1024 * 1024)})
    response = APIClient().post(TOKEN, body, content_type="application/json")
    error = assert_error(response, 413, "request_too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]


def test_body_over_limit_with_lying_content_length_is_413():
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = b'"' + b"x" * (limit + 10) + b'"'

    class _Request:
        META = {"CONTENT_LENGTH": "10"}

    with pytest.raises(RequestTooLarge):
        StrictJSONParser().parse(io.BytesIO(raw), "application/json", {"request": _Request()})


def test_body_at_the_limit_parses():
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = b'"' + b"x" * (limit - 2) + b'"'
    assert len(_parse(raw)) == limit - 2


@pytest.mark.parametrize(
    "raw", [b"NaN", b"Infinity", b"-Infinity", b'{"amount": NaN}', b"[1, Infinity]"]
)
def test_nan_and_infinity_refused(raw):
    with pytest.raises(InvalidRequest) as info:
        _parse(raw)
    assert info.value.code == "parse_error"


def test_nan_through_the_api_is_400(db):
    response = APIClient().post(
        TOKEN, b'{"email": "a@example.com", "password": NaN}', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_floats_parse_to_decimal_and_ints_stay_ints():
    data = _parse(b'{"amount": 0.1, "big": 12345678901234567890.000000001, "n": 3, "e": 1e3}')
    assert data["amount"] == Decimal("0.1")
    assert isinstance(data["amount"], Decimal)
    assert data["big"] == Decimal("12345678901234567890.000000001")
    assert data["n"] == 3
    assert type(data["n"]) is int
    assert data["e"] == Decimal("1E+3")


def test_huge_integer_is_a_parse_error_not_a_crash():
    with pytest.raises(InvalidRequest):
        _parse(b"1" * 5000)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"\xef\xbb\xbf{}", b'"\xc3"', b""])
def test_bad_encodings_and_empty_are_parse_errors(raw):
    with pytest.raises(InvalidRequest):
        _parse(raw)


# --- Properties ---------------------------------------------------------------------------------
@given(st.binary(max_size=2048))
@hsettings(max_examples=300, deadline=None)
def test_arbitrary_bytes_raise_only_kore_errors(raw):
    with contextlib.suppress(InvalidRequest, RequestTooLarge):
        _parse(raw)


@given(st.text(alphabet='[]{}":,0123456789.eE+-tfnrulasNIy \\', max_size=512))
@hsettings(max_examples=300, deadline=None)
def test_json_like_text_raises_only_kore_errors(text):
    with contextlib.suppress(InvalidRequest, RequestTooLarge):
        _parse(text.encode())


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


def _expected(value: Any) -> Any:
    """What the parser should return: each float as the Decimal of its JSON text."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if isinstance(value, dict):
        return {k: _expected(v) for k, v in value.items()}
    return value


@given(_json_values)
@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_json_values_round_trip(value):
    raw = json.dumps(value).encode()
    if _depth(value) > settings.KORE_JSON_MAX_DEPTH:
        with pytest.raises(InvalidRequest):
            _parse(raw)
        return
    parsed = _parse(raw)
    assert parsed == _expected(value)


# --- Lone surrogates ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        b'{"\\ud83d": "x"}',
        b'{"a": "\\ud83d"}',
        b'{"a": "\\udc00x"}',
        b'["ok", ["\\uDFFF"]]',
        b'"\\ud83d\\ud83d"',  # two high halves are not a pair
        b'{"a": {"b\\ud800": 1}}',
    ],
)
def test_a_lone_surrogate_in_a_key_or_string_is_400_invalid_unicode(raw):
    with pytest.raises(InvalidRequest) as info:
        _parse(raw)
    assert (info.value.code, info.value.status_code) == ("invalid_unicode", 400)


def test_a_surrogate_pair_parses_to_its_character():
    assert _parse(b'{"\\ud83d\\ude00": "\\ud83d\\ude00"}') == {"\U0001f600": "\U0001f600"}


def test_a_lone_surrogate_through_the_api_is_400(db):
    response = APIClient().post(
        TOKEN, b'{"email": "\\ud83d@example.com", "password": "x"}', content_type="application/json"
    )
    assert_error(response, 400, "invalid_unicode")


# Hypothesis leaves surrogates out of text unless asked: these strings may hold them.
_any_text = st.text(st.characters(blacklist_categories=()), max_size=8)


@given(st.recursive(_any_text, lambda c: st.lists(c) | st.dictionaries(_any_text, c), max_leaves=8))
@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_document_parses_or_is_refused_as_invalid_unicode(value):
    raw = json.dumps(value).encode()  # ensure_ascii: surrogates become \\u escapes
    decoded = json.loads(raw)  # adjacent high and low halves join into one character here
    if scrub_surrogates(decoded) != decoded:
        with pytest.raises(InvalidRequest) as info:
            _parse(raw)
        assert info.value.code == "invalid_unicode"
    else:
        assert _parse(raw) == decoded
