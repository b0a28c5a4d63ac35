"""The ``<id:…>`` converter: every URL with an object id is bounded to 1..2^63-1.

Walks the URL configuration, so a route added later is covered without a new test. Runs on
PostgreSQL and (through ``test_hostile_input_on_sqlite``) on SQLite.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kore.core.converters import IdConverter
from kore.core.fields import ID_MAX
from kore.core.testing import OrgWorld, client_for

METHODS = ("get", "post", "put", "patch", "delete")
BEYOND = [str(2**64), str(2**63), "0", "9" * 40]


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


ROUTES = sorted({route for route, _ in _walk(get_resolver().url_patterns)})
ID_ROUTES = [route for route in ROUTES if "<id:" in route]


def _path(route: str, slug: str, value: str) -> str:
    path = route.replace("<slug:org_slug>", slug)
    return "/" + re.sub(r"<id:\w+>", value, path).lstrip("^")


def test_no_route_takes_an_unbounded_int():
    unbounded = [route for route in ROUTES if "<int:" in route and not route.startswith("admin/")]
    assert unbounded == []
    assert len(ID_ROUTES) > 25  # sanity: the walk sees the id routes of the API and the web app


@pytest.mark.parametrize("value", ["1", "42", str(ID_MAX)])
def test_an_id_in_range_matches(value):
    assert IdConverter().to_python(value) == int(value)


@pytest.mark.parametrize("value", ["0", "00", str(ID_MAX + 1), str(2**64), "9" * 400])
def test_an_id_out_of_range_does_not_match(value):
    with pytest.raises(ValueError, match="not an id"):
        IdConverter().to_python(value)


def test_reverse_still_builds_id_urls():
    assert reverse("ledger:transaction-detail", args=["acme", 7]) == (
        "/api/v1/orgs/acme/transactions/7/"
    )


def _clients(world: OrgWorld) -> tuple[Any, Client]:
    api = client_for(world.owner)
    api.raise_request_exception = False
    web = Client()
    web.force_login(world.owner)
    web.raise_request_exception = False
    return api, web


@pytest.mark.parametrize("route", ID_ROUTES)
def test_every_id_route_is_404_for_an_id_beyond_64_bits(world, route):
    api, web = _clients(world)
    client = api if route.startswith("api/") else web
    for value in BEYOND:
        path = _path(route, world.org.slug, value)
        for method in METHODS:
            response = getattr(client, method)(path, {}, format="json")
            assert response.status_code == 404, (method, path, response.status_code)
