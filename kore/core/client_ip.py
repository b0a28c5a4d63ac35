from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def client_ip(request: Request) -> str | None:
    """The client address as the rate limits see it (honours ``KORE_NUM_PROXIES``)."""
    ident = BaseThrottle().get_ident(request)
    return ident.strip() or None if ident else None
