"""DRF's content negotiation, its answer remembered: every API request asks it the same question.

The renderer DRF picks depends only on the ``Accept`` header and the view's renderers (their
classes and media types), so the choice is kept per (header, renderers) and the next request
with the same ones gets the same renderer and media type without parsing the header again.
A ``?format=`` or a format suffix, and a request nothing can answer (406), go through DRF's
own negotiation every time.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# At most this many remembered choices: the Accept header is the client's, so the set of keys
# is not bounded by Kore; past the limit it starts over.
MAX_REMEMBERED = 512

_chosen: dict[tuple[Any, ...], tuple[int, str]] = {}


class RememberingContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = renderers if isinstance(renderers, list) else list(renderers)
        # No query string, no ``?format=``: the query is only parsed when there is one.
        query = request._request.META.get("QUERY_STRING")
        if format_suffix or (query and request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)):
            return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]
        key = (
            request.META.get("HTTP_ACCEPT"),
            *((type(renderer), renderer.media_type) for renderer in renderers),
        )
        known = _chosen.get(key)
        if known is not None:
            index, media_type = known
            return renderers[index], media_type
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        index = next(i for i, each in enumerate(renderers) if each is renderer)
        if len(_chosen) >= MAX_REMEMBERED:
            _chosen.clear()
        _chosen[key] = (index, media_type)
        return renderer, media_type
