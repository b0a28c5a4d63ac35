"""Who may see a web page: the API's organisation scoping and role rules, for a browser session.

The organisation comes from the URL and is resolved from the person's own memberships (another
organisation is a 404, never a 403). Reads need viewer, writes member, unless a page asks more.
Every page renders in the organisation's time zone.
"""

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_htmx.middleware import HtmxDetails

from kore.orgs.models import Role, User
from kore.orgs.scoping import OrgContext, org_context_for, role_needed

OrgView = Callable[..., HttpResponse]


def web_org_context(*, request: HttpRequest, slug: str) -> OrgContext | None:
    """The signed-in person's standing in ``slug`` (no API token in a browser session)."""
    return org_context_for(user=cast(User, request.user), slug=slug)


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "web/error.html", {"status": status, "message": message}, status=status)


def throttled_page(request: HttpRequest, retry_after: int) -> HttpResponse:
    """429 for a credential form over its rate limit, with ``Retry-After`` in seconds."""
    minutes = max(1, -(-retry_after // 60))
    message = (
        "Too many attempts from here or for this address. "
        f"Wait {minutes} minute{'s' if minutes > 1 else ''} and try again."
    )
    response = error_page(request, 429, message)
    response["Retry-After"] = str(retry_after)
    return response


def org_page(*, read: str = Role.VIEWER, write: str = Role.MEMBER) -> Callable[[OrgView], OrgView]:
    """Decorate ``view(request, org, **kwargs)``: sign-in, organisation, role, time zone."""

    def decorate(view: OrgView) -> OrgView:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, org_slug: str, **kwargs: Any) -> HttpResponse:
            org = web_org_context(request=request, slug=org_slug)
            if org is None:
                return error_page(request, 404, "There is no such page.")
            needed = role_needed(request.method, read=read, write=write)
            if not org.at_least(needed):
                return error_page(request, 403, f"This needs the {needed} role or higher.")
            request.org = org  # type: ignore[attr-defined]
            try:
                tz = zoneinfo.ZoneInfo(org.organization.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                tz = zoneinfo.ZoneInfo("UTC")
            with timezone.override(tz):
                return view(request, org, **kwargs)

        return wrapper

    return decorate


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render with what the layout needs: the organisation, the switcher and the role flags."""
    from kore.orgs.selectors import organization_list

    org: OrgContext | None = getattr(request, "org", None)
    base: dict[str, Any] = {"org": org}
    if request.user.is_authenticated and "orgs" not in (context or {}):
        base["orgs"] = list(organization_list(user=request.user).only("name", "slug"))
    if org is not None:
        base["can_write"] = org.at_least(Role.MEMBER)
        base["is_admin"] = org.at_least(Role.ADMIN)
    base.update(context or {})
    return render(request, template, base, status=status)


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it: ``request.htmx`` is truthy for an htmx
    request (it wants a fragment, not the whole page)."""

    htmx: HtmxDetails


def request_ip(request: HttpRequest) -> str | None:
    """The client address as the API's security events record it."""
    from kore.core.client_ip import client_ip

    return client_ip(request)  # type: ignore[arg-type]  # reads only META, like a DRF Request
