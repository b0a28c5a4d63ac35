"""Every /orgs/{slug}/… endpoint, every method: outsiders get 404, anonymous callers 401.

Walks the URL configuration, so an endpoint added later is covered without a new test.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from kore.core.testing import assert_error, assert_other_org_is_404, client_for

METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _org_endpoints():
    found = []
    for route, callback in _walk(get_resolver().url_patterns):
        view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if "<slug:org_slug>" not in route or view is None:
            continue
        methods = [m for m in METHODS if callable(getattr(view, m, None))]
        for method in methods:
            found.append((route, method))
    return found


ENDPOINTS = _org_endpoints()


def _path(route, slug):
    path = route.replace("<slug:org_slug>", slug)
    return "/" + re.sub(r"<(?:int|id):\w+>", "1", path).lstrip("^")


def test_walk_finds_the_org_endpoints():
    assert len(ENDPOINTS) > 30  # sanity: the walk sees the app's routes


@pytest.mark.parametrize(("route", "method"), ENDPOINTS)
def test_outsider_gets_404(world, route, method):
    assert_other_org_is_404(world.outsider, method, _path(route, world.org.slug), {})


@pytest.mark.parametrize(("route", "method"), ENDPOINTS)
def test_anonymous_gets_401(world, route, method):
    response = getattr(client_for(None), method)(_path(route, world.org.slug), {}, format="json")
    assert_error(response, 401)


@pytest.mark.parametrize(("route", "method"), ENDPOINTS)
def test_unknown_organisation_is_404_like_a_foreign_one(world, route, method):
    response = getattr(client_for(world.member), method)(
        _path(route, "no-such-org"), {}, format="json"
    )
    assert_error(response, 404, "not_found")
