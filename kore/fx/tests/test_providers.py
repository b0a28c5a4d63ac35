"""The optional rate fetch, against a stand-in HTTP server on 127.0.0.1 started by the test."""

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.test import override_settings

from kore.fx.models import ExchangeRate
from kore.fx.providers import EcbCsvProvider, ProviderError, exchange_rates_fetch
from kore.fx.services import RateInput, exchange_rate_set
from kore.fx.tasks import fetch_rates

ECB = (Path(__file__).parent / "files" / "ecb-daily.csv").read_bytes()


class _StandIn(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = {
            "/eurofxref.csv": (200, ECB),
            "/broken.csv": (200, b"<html>maintenance</html>"),
        }.get(self.path, (503, b""))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_stores_the_days_rates_in_every_organisation(world, stand_in):
    stored = exchange_rates_fetch(provider=EcbCsvProvider(f"{stand_in}/eurofxref.csv"))
    assert stored == 6  # USD, JPY and CZK (BGN is N/A) in both organisations
    rows = ExchangeRate.objects.filter(organization=world.org).order_by("quote")
    assert [(r.quote, r.rate, r.source) for r in rows] == [
        ("CZK", Decimal("25.312"), "provider"),
        ("JPY", Decimal("162.9"), "provider"),
        ("USD", Decimal("1.0871"), "provider"),
    ]
    assert ExchangeRate.objects.filter(organization=world.other_org).count() == 3


def test_a_rate_a_person_set_is_kept(world, stand_in):
    mine = RateInput("EUR", "USD", date(2026, 3, 4), Decimal("1.5"))
    exchange_rate_set(organization=world.org, item=mine)
    exchange_rates_fetch(provider=EcbCsvProvider(f"{stand_in}/eurofxref.csv"))
    row = ExchangeRate.objects.get(organization=world.org, quote="USD")
    assert (row.rate, row.source) == (Decimal("1.5"), "manual")


def test_fetching_twice_replaces_rather_than_adds(world, stand_in):
    provider = EcbCsvProvider(f"{stand_in}/eurofxref.csv")
    exchange_rates_fetch(provider=provider)
    exchange_rates_fetch(provider=provider)
    assert ExchangeRate.objects.filter(organization=world.org).count() == 3


@pytest.mark.parametrize("path", ["/missing.csv", "/broken.csv"])
def test_an_unreachable_or_wrong_file_is_a_provider_error_and_stores_nothing(world, stand_in, path):
    with pytest.raises(ProviderError):
        exchange_rates_fetch(provider=EcbCsvProvider(f"{stand_in}{path}"))
    assert not ExchangeRate.objects.exists()


def test_the_task_does_nothing_by_default(world):
    assert fetch_rates() == 0
    assert not ExchangeRate.objects.exists()


def test_the_task_fetches_from_the_configured_url(world, stand_in):
    with override_settings(KORE_FX_PROVIDER_URL=f"{stand_in}/eurofxref.csv"):
        assert fetch_rates() == 6
