"""Which requests come from an API client: a bearer credential on an ``/api/`` path.

Such a request is authenticated by its ``Authorization: Bearer …`` header alone (an API token or
a JWT, kore.orgs.authentication): DRF's authenticators either accept that credential or refuse
the request, and never fall back to the session. So the browser's machinery (session, CSRF
cookie, the user from the session, flash messages, a CSP nonce) has nothing to do for it, and
the middleware that provides it asks this one function whether to step aside.
"""

from django.http import HttpRequest

API_PREFIX = "/api/"
# simplejwt matches the scheme case-sensitively: "bearer x" could fall through to the session.
BEARER_PREFIX = "Bearer "


def is_bearer_api_request(request: HttpRequest) -> bool:
    """True for an ``/api/`` request carrying ``Authorization: Bearer <credential>``."""
    return request.path_info.startswith(API_PREFIX) and request.META.get(
        "HTTP_AUTHORIZATION", ""
    ).startswith(BEARER_PREFIX)
