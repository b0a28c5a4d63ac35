"""Optimistic concurrency: ETags carry a row's version; a stale If-Match is a 412."""

from typing import Any, Protocol

from kore.core.exceptions import PreconditionFailed


class Versioned(Protocol):
    @property
    def pk(self) -> Any: ...

    @property
    def version(self) -> int: ...


def etag(pk: Any, version: int) -> str:
    """The ETag of a row at a version (the transaction list renders the same in SQL)."""
    return f'"{pk}-{version}"'


def etag_for(obj: Versioned) -> str:
    return etag(obj.pk, obj.version)


def check_version(obj: Versioned, if_match: str | None) -> None:
    """Compare ``If-Match`` with the locked row's version (absent header: no check)."""
    if if_match is None:
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in wanted or etag_for(obj) in wanted:
        return
    raise PreconditionFailed(
        "The object changed since you read it; fetch it again and retry.",
        code="version_conflict",
    )
