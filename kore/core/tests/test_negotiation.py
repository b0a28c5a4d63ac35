"""Content negotiation remembered per Accept header answers exactly what DRF's own does."""

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from kore.core import negotiation
from kore.core.negotiation import RememberingContentNegotiation
from kore.core.renderers import ORJSONRenderer

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html",
    "text/html;q=0.9, application/json",
    "application/*",
    "text/*, */*;q=0.1",
]


def _request(accept: str | None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get(f"/x/{query}", **headers))


def _renderers() -> list:
    return [ORJSONRenderer(), BrowsableAPIRenderer()]


def _choice(negotiator, accept: str | None, query: str) -> tuple[object, str]:
    renderers = _renderers()
    try:
        renderer, media_type = negotiator.select_renderer(_request(accept, query), renderers)
    except NotAcceptable:
        return "406", ""
    assert any(renderer is each for each in renderers)  # this request's own instance
    return type(renderer), media_type


@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
@pytest.mark.parametrize("accept", ACCEPTS)
def test_same_choice_as_drf_first_time_and_remembered(accept, query):
    negotiation._chosen.clear()
    expected = _choice(DefaultContentNegotiation(), accept, query)
    for _ in range(2):  # the second answer comes from memory
        assert _choice(RememberingContentNegotiation(), accept, query) == expected


def test_unacceptable_stays_a_406_every_time():
    negotiation._chosen.clear()
    for _ in range(2):
        with pytest.raises(NotAcceptable):
            RememberingContentNegotiation().select_renderer(_request("image/png"), _renderers())
    assert not negotiation._chosen


def test_memory_is_bounded(monkeypatch):
    negotiation._chosen.clear()
    monkeypatch.setattr(negotiation, "MAX_REMEMBERED", 3)
    for i in range(10):
        RememberingContentNegotiation().select_renderer(
            _request(f"application/json; v={i}"), _renderers()
        )
    assert len(negotiation._chosen) <= 3


def test_is_drfs_configured_negotiation():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is RememberingContentNegotiation
