"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server
(real PostgreSQL). Screenshots go to var/artefacts/web/."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from kore.core.testing_binaries import debian_binary

ARTEFACTS = Path(settings.BASE_DIR) / "var" / "artefacts" / "web"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = debian_binary("chromium", "chromium", path=CHROMIUM)
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def web_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser page; every CSP violation or page error it reports fails the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.base = live_server.url  # type: ignore[attr-defined]
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not csp, csp


def shot(page: Any, name: str) -> Path:
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
