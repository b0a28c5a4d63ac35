"""Helpers every app's tests reuse: signed-in clients, the cross-organisation check, and
waiting for something asynchronous with a deadline."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rest_framework.test import APIClient

from kore.orgs.models import Organization, User
from kore.orgs.services import token_pair_issue

T = TypeVar("T")


def client_for(user: User | None) -> APIClient:
    """An API client carrying a real JWT for ``user`` (anonymous when None)."""
    client = APIClient()
    if user is not None:
        access = token_pair_issue(user=user)["access"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is Kore's error shape with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    error = body["error"]
    assert set(error) == {"code", "message", "fields", "request_id"}, body
    assert error["request_id"] == response["X-Request-ID"]
    if code is not None:
        assert error["code"] == code, body
    return dict(error)


@dataclass
class OrgWorld:
    """One organisation with a person in each role, and an outsider who owns another one."""

    org: Organization
    owner: User
    admin: User
    member: User
    viewer: User
    other_org: Organization
    outsider: User


def assert_other_org_is_404(
    outsider: User, method: str, path: str, data: dict[str, Any] | None = None
) -> None:
    """Someone outside the organisation learns nothing: a 404, never a 403 or the data."""
    response = getattr(client_for(outsider), method.lower())(path, data, format="json")
    assert_error(response, 404, "not_found")


def wait_until(
    predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    For effects that land a moment after the action that causes them (a lock released once the
    server notices its connection closed, a process exiting, a job finishing): asserting them
    at once passes on an idle machine and fails on a loaded one. Fails the test, naming ``what``
    and the last value seen, once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what} (last value: {value!r})"
            )
        time.sleep(interval)
