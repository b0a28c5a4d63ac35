"""The ``<id:…>`` path converter every URL with an object id uses (registered in CoreConfig)."""

from .fields import ID_MAX


class IdConverter:
    """Like ``<int:…>``, bounded to 1..2^63-1: a larger or zero id matches nothing (a 404).

    A ValueError from ``to_python`` is Django's "this pattern does not match", so a number no
    database row can have never reaches a view (SQLite's driver cannot bind one above 64 bits).
    """

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        if len(value) > 19 or not 1 <= int(value) <= ID_MAX:
            raise ValueError("not an id")
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)
