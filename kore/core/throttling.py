"""Rate limits, counted in the shared cache (Redis in production).

DRF's SimpleRateThrottle keeps every request's timestamp in one cache value and rewrites it on
each request: at 5,000/hour that is a list of up to 5,000 floats pickled twice per call. Kore
counts per window instead (one atomic ``INCR``, pipelined with reading the previous window's count:
one round trip), which costs the same at any rate. The limit is checked against a sliding
estimate: the previous window's count weighted by how much of it still overlaps the last
``duration`` seconds, plus the current one's, so a burst at a window boundary gets no second
allowance. With the cache down the counters fail open: requests are served, not refused.
"""

import math
import time
from typing import TYPE_CHECKING, Any, cast

from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle as DRFSimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


def _window_hit(counter: str, previous: str, *, ttl: int) -> tuple[int, int] | None:
    """Count one request in ``counter``; its new count and ``previous``'s, or None (cache down)."""
    client: Any = getattr(cache, "client", None)
    if hasattr(client, "get_client"):  # django-redis: one round trip for all three commands
        try:
            key = client.make_key(counter)
            pipe = client.get_client(write=True).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, ttl)
            pipe.get(client.make_key(previous))
            current, _, before = pipe.execute()
        except (RedisError, OSError):
            return None
        return int(current), int(before or 0)
    # Any other cache (local memory when embedded).
    if cache.add(counter, 1, timeout=ttl):
        count: int | None = 1
    else:
        try:
            count = cache.incr(counter)
        except ValueError:  # expired between add and incr: a fresh window
            cache.add(counter, 1, timeout=ttl)
            count = 1
    if count is None:
        return None
    return int(count), int(cache.get(previous) or 0)


class SimpleRateThrottle(DRFSimpleRateThrottle):
    """Sliding-window estimate: ``num_requests`` per ``duration`` seconds per key."""

    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if self.rate is None:
            return True
        return self.allow_key(self.get_cache_key(request, view))

    def allow_key(self, key: str | None) -> bool:
        """Count one request against ``key`` (None: not limited); False when over the rate."""
        if self.rate is None or key is None:
            return True
        now = time.time()
        window, into = divmod(now, self.duration)
        counts = _window_hit(
            f"{key}:{int(window)}", f"{key}:{int(window) - 1}", ttl=2 * self.duration + 1
        )
        if counts is None:
            return True  # cache down: fail open
        current, previous = counts
        self.wait_seconds = self.duration - into
        overlap = 1 - into / self.duration  # share of the previous window still in the last period
        return previous * overlap + current <= self.num_requests

    def wait(self) -> float | None:
        return getattr(self, "wait_seconds", None)


def _is_api_token(request: Request) -> bool:
    return getattr(request.auth, "is_api_token", False) is True


class UserRateThrottle(SimpleRateThrottle):
    """Per signed-in person (JWT or session)."""

    scope = "user"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if not request.user or not request.user.is_authenticated or _is_api_token(request):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiTokenRateThrottle(SimpleRateThrottle):
    """Per API token, so one machine client cannot starve its organisation's people."""

    scope = "api_token"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if not _is_api_token(request):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class LoginIPThrottle(SimpleRateThrottle):
    """Credential checks per client address."""

    scope = "login_ip"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        return self.key_for(request)

    def key_for(self, request: Request | HttpRequest) -> str:
        """The counter of ``request``'s client address (reads only ``META``)."""
        ident = self.get_ident(cast(Request, request))  # reads only META, which both have
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginEmailThrottle(SimpleRateThrottle):
    """Credential checks per target email, so spreading over addresses does not help."""

    scope = "login_email"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        data: Any = request.data
        return self.key_for(data.get("email") if isinstance(data, dict) else None)

    def key_for(self, email: object) -> str | None:
        """The counter of ``email`` (case and surrounding spaces ignored); None without one."""
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()}


def credential_attempt_throttle(request: HttpRequest, *, email: str | None) -> int | None:
    """Count one credential attempt; None when allowed, else the seconds to wait (for any view).

    The web sign-in, the two-factor code step and password reset (web and API) call this, so they
    share the API login's ``login_ip`` (per client address) and ``login_email`` (per target
    address) counters: a guesser gains nothing by switching between the form and the API. Call it
    on every attempt, before checking the credential (a refused attempt then tests nothing); pass
    the address the attempt is for (``None`` counts the client address only). Over either limit
    the view answers 429 with ``Retry-After`` set to the returned seconds
    (``kore.web.access.throttled_page`` renders that page). With the cache down it allows.
    """
    waits = []
    by_ip, by_email = LoginIPThrottle(), LoginEmailThrottle()
    if not by_ip.allow_key(by_ip.key_for(request)):
        waits.append(by_ip.wait() or 1.0)
    if not by_email.allow_key(by_email.key_for(email)):
        waits.append(by_email.wait() or 1.0)
    return max(1, math.ceil(max(waits))) if waits else None
