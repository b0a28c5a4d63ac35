"""IdField, id_parse and JSONTextField: ids are 1..2^63-1, JSON text is parsed like a body."""

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework import serializers

from kore.core.fields import ID_MAX, IdField, JSONTextField, id_coerce, id_parse


class _Ids(serializers.Serializer):  # type: ignore[type-arg]
    id = IdField()


class _Doc(serializers.Serializer):  # type: ignore[type-arg]
    doc = JSONTextField(max_bytes=100, max_depth=1)


def _codes(serializer: serializers.Serializer) -> list[str]:  # type: ignore[type-arg]
    assert not serializer.is_valid()
    return [str(e.code) for errors in serializer.errors.values() for e in errors]


@pytest.mark.parametrize("value", [1, "1", 42, ID_MAX, str(ID_MAX)])
def test_an_id_in_range_is_accepted(value):
    serializer = _Ids(data={"id": value})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["id"] == int(value)


@pytest.mark.parametrize("value", [0, -1, ID_MAX + 1, 2**64, str(2**64), 10**400])
def test_an_integer_out_of_range_is_invalid_id(value):
    assert _codes(_Ids(data={"id": value})) == ["invalid_id"]


@pytest.mark.parametrize("value", ["1e309", "abc", "1.5", True, None, []])
def test_a_value_that_is_no_integer_is_refused(value):
    assert _codes(_Ids(data={"id": value}))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), (str(ID_MAX), ID_MAX), ("0", None), ("-1", None), (str(ID_MAX + 1), None),
     ("9" * 400, None), ("1e309", None), ("\uff11", None), ("", None), (None, None)],
)  # fmt: skip
def test_id_parse(raw, expected):
    assert id_parse(raw) == expected


@given(st.text(max_size=30))
@hsettings(max_examples=300, deadline=None)
def test_id_parse_is_an_id_or_none_and_id_coerce_agrees(raw):
    value = id_parse(raw)
    assert value is None or 1 <= value <= ID_MAX
    if value is None:
        with pytest.raises(ValueError, match="Not an id"):
            id_coerce(raw)
    else:
        assert id_coerce(raw) == value


def test_json_text_is_parsed():
    serializer = _Doc(data={"doc": '{"a": "b"}'})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["doc"] == {"a": "b"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"a": {"b": "c"}}', "parse_error"),
        ("[" * 90, "parse_error"),
        ("[" * 5000, "max_string_length"),
        ('{"a": "' + "x" * 200 + '"}', "max_string_length"),
        ('{"a": "\\ud83d"}', "invalid_unicode"),
        ('{"a": NaN}', "parse_error"),
        ("{not json", "parse_error"),
    ],
)
def test_bad_json_text_is_a_field_error(text, code):
    assert _codes(_Doc(data={"doc": text})) == [code]
