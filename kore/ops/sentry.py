"""Error reporting to Sentry: Django, Celery and Redis integrated, no personal data, secrets
redacted from every event before it leaves the process."""

import logging
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.redis import RedisIntegration

from .logs import redact


def sentry_options(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float
) -> dict[str, Any]:
    """The keyword arguments Kore passes to ``sentry_sdk.init``."""
    return {
        "dsn": dsn,
        "environment": environment,
        "release": f"kore@{release}",
        "traces_sample_rate": traces_sample_rate,
        "send_default_pii": False,
        "max_request_body_size": "never",
        "integrations": [
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=False),
            RedisIntegration(),
            # ERROR records become events, INFO and up become breadcrumbs.
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        "before_send": _scrub_event,
        # Performance events carry the request too (its query string: an email link's token).
        "before_send_transaction": _scrub_event,
        "before_breadcrumb": _scrub_breadcrumb,
    }


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    """Start the Sentry client (called from settings when SENTRY_DSN is set)."""
    sentry_sdk.init(
        **sentry_options(
            dsn=dsn,
            environment=environment,
            release=release,
            traces_sample_rate=traces_sample_rate,
        )
    )


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrub_item(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _scrub_item(key: str, value: Any) -> Any:
    # A header or variable whose name says secret is dropped whatever its shape.
    lowered = key.lower()
    if any(word in lowered for word in ("authorization", "password", "secret", "token", "cookie")):
        return "[REDACTED]"
    return _scrub(value)


def _scrub_event(event: Any, hint: Any) -> Any:
    return _scrub(event)


def _scrub_breadcrumb(crumb: Any, hint: Any) -> Any:
    return _scrub(crumb)
