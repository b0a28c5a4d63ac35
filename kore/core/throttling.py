"""Rate limits, counted in the shared cache (Redis in production).

DRF's SimpleRateThrottle keeps every request's timestamp in one cache value and rewrites it on
each request: at 5,000/hour that is a list of up to 5,000 floats pickled twice per call. Kore
counts per fixed window instead (one atomic ``INCR``), which costs the same at any rate. A window
boundary may let up to twice the rate through in the worst case, acceptable for abuse limits.
With the cache down the counters fail open: requests are served, not refused.
"""

import time
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle as DRFSimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


def _window_hit(counter: str, *, ttl: int) -> int | None:
    """Count one request in ``counter``; the new count, or None when the cache is down."""
    client = getattr(cache, "client", None)
    if hasattr(client, "get_client"):  # django-redis: INCR + EXPIRE in one round trip
        try:
            key = client.make_key(counter)  # type: ignore[union-attr]
            pipe = client.get_client(write=True).pipeline(transaction=False)  # type: ignore[union-attr]
            pipe.incr(key)
            pipe.expire(key, ttl)
            count, _ = pipe.execute()
        except (RedisError, OSError):
            return None
        return int(count)
    if cache.add(counter, 1, timeout=ttl):  # any other cache (local memory when embedded)
        return 1
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr: a fresh window
        cache.add(counter, 1, timeout=ttl)
        return 1
    return None if count is None else int(count)


class SimpleRateThrottle(DRFSimpleRateThrottle):
    """Fixed-window counter: ``num_requests`` per ``duration`` seconds per key."""

    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.wait_seconds = (window + 1) * self.duration - now
        count = _window_hit(f"{key}:{window}", ttl=self.duration + 1)
        return count is None or count <= self.num_requests  # None: cache down, fail open

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
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailThrottle(SimpleRateThrottle):
    """Credential checks per target email, so spreading over addresses does not help."""

    scope = "login_email"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        data: Any = request.data
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email:
            return None
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()}
