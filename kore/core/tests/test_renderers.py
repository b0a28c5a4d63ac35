"""ORJSONRenderer: DRF's output, and a stored lone surrogate replaced instead of a 500."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kore.core.renderers import ORJSONRenderer, scrub_surrogates


def _render(data):
    return ORJSONRenderer().render(data)


def test_plain_data_renders_as_before():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    body = _render({"a": [1, "é", Decimal("1.25")], "at": at})
    assert orjson.loads(body) == {"a": [1, "é", 1.25], "at": "2026-01-02T03:04:05Z"}


def test_a_lone_surrogate_in_a_key_or_value_is_replaced():
    body = _render({"metadata": {"\ud83d": "x", "k": ["a\udc00b"]}, "n": Decimal("1.5")})
    assert orjson.loads(body) == {"metadata": {"\ufffd": "x", "k": ["a\ufffdb"]}, "n": 1.5}


def test_a_tuple_with_a_surrogate_is_replaced():
    assert orjson.loads(_render({"t": ("\ud800",)})) == {"t": ["\ufffd"]}


def test_scrub_keeps_valid_characters():
    assert scrub_surrogates({"\U0001f600": "ça"}) == {"\U0001f600": "ça"}


# Hypothesis leaves surrogates out of text unless asked: these strings may hold them.
_any_text = st.text(st.characters(blacklist_categories=()), max_size=8)


@given(st.recursive(_any_text, lambda c: st.lists(c) | st.dictionaries(_any_text, c), max_leaves=8))
@hsettings(max_examples=300, deadline=None)
def test_any_text_renders_to_valid_utf8_json(value):
    body = _render({"v": value})
    body.decode("utf-8")  # never raises
    assert orjson.loads(body)["v"] == scrub_surrogates(value)
