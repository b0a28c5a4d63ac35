"""The status page in a real Chromium at phone width: signed in as staff, with the services up,
then with Redis down (the test's own redis-server, stopped mid-test). Screenshots go to
var/artefacts/ for a person to look at."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config.settings.base import cache_from_url
from kore.core.testing_binaries import debian_binary
from kore.orgs.tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[3]
ARTEFACTS = ROOT / "var" / "artefacts"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 375, "height": 812}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on a spare port (never the shared one on 6379)."""

    def __init__(self, workdir: Path) -> None:
        binary = debian_binary("redis-server", "redis-server")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not self.answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                pytest.fail("the test's redis-server did not start")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@pytest.fixture
def own_redis(tmp_path, settings) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    settings.CACHES = cache_from_url(f"{server.url}/0")
    settings.CELERY_BROKER_URL = f"{server.url}/1"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop on this thread; Django would then refuse the
    # test's own (synchronous) database calls. Nothing here is actually asynchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _chromium()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = debian_binary("chromium", "chromium", path=CHROMIUM)
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/ops/status/")
    expect(page).to_have_url(f"{base}/sign-in/?next=%2Fops%2Fstatus%2F")  # through the admin's
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/ops/status/")


def _no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_status_page_with_services_up_then_redis_down(live_server, own_redis, page):
    staff = UserFactory(is_staff=True)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    _sign_in(page, live_server.url, staff.email)

    expect(page.locator("#overall")).to_have_text("OK")
    cache_row = page.locator("tr.service", has_text="Redis (cache)")
    expect(cache_row).to_have_class("service up")
    expect(cache_row.locator(".badge")).to_have_text("up")
    expect(page.locator("tr.service", has_text="PostgreSQL").locator(".badge")).to_have_text("up")
    expect(page.locator("#backup-state")).to_have_text("No backup yet")
    expect(page.get_by_role("heading", name="Background jobs")).to_be_visible()
    # The stylesheet loaded (the header is coloured) and nothing overflows a 375 px screen.
    header_bg = page.locator("header.bar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header_bg == "rgb(27, 127, 59)", header_bg
    assert _no_horizontal_scroll(page)
    page.screenshot(path=str(ARTEFACTS / "ops-status-up.png"), full_page=True)

    own_redis.stop()
    assert not own_redis.answers()
    page.reload()
    expect(page.locator("#overall")).to_have_text("DEGRADED")
    for name in ("Redis (cache)", "Redis (broker)"):
        row = page.locator("tr.service", has_text=name)
        expect(row).to_have_class("service down")
        expect(row.locator(".badge")).to_have_text("down")
        expect(row.locator(".badge")).to_be_visible()
    expect(page.locator("tr.service", has_text="PostgreSQL").locator(".badge")).to_have_text("up")
    expect(page.locator("#queues-state")).to_have_text("unavailable (broker down)")
    assert _no_horizontal_scroll(page)
    page.screenshot(path=str(ARTEFACTS / "ops-status-redis-down.png"), full_page=True)
    assert not csp_errors, csp_errors
