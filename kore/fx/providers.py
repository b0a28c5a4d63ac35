"""Fetching reference rates from a provider: optional, off unless KORE_FX_PROVIDER_URL is set.

Kore works with no network: rates are entered or imported by people. An operator who wants them
fetched points ``KORE_FX_PROVIDER_URL`` at a file in the ECB reference-rate CSV layout (the
ECB's daily file, or a mirror of it); the daily ``kore.fx.fetch_rates`` task then stores its
rates in every organisation, never replacing a rate a person set or imported for that day.

A provider is anything with a ``name`` and a ``fetch()`` returning ``RateInput`` rows, so another
source is one small class.
"""

import urllib.request
from typing import Protocol

from django.conf import settings
from django.db import transaction

from kore.core.exceptions import KoreError
from kore.orgs.models import Organization

from .models import ExchangeRate
from .rate_files import rate_file_read
from .services import RateInput, exchange_rates_store


class ProviderError(Exception):
    """The provider could not be reached or sent something that is not a rate file."""


class RateProvider(Protocol):
    name: str

    def fetch(self) -> list[RateInput]: ...


class EcbCsvProvider:
    """A file in the ECB reference-rate CSV layout, fetched over HTTP(S)."""

    name = "ecb_csv"

    def __init__(self, url: str, *, timeout: float = 20.0, max_bytes: int = 10 * 1024 * 1024):
        if not url.startswith(("http://", "https://")):
            raise ValueError("The provider URL must be http:// or https://.")
        self.url, self.timeout, self.max_bytes = url, timeout, max_bytes

    def fetch(self) -> list[RateInput]:
        request = urllib.request.Request(self.url, headers={"User-Agent": "Kore"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                content = response.read(self.max_bytes + 1)
        except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
            raise ProviderError(f"{self.name}: {exc.__class__.__name__}") from exc
        if len(content) > self.max_bytes:
            raise ProviderError(f"{self.name}: the file is larger than {self.max_bytes} bytes")
        try:
            return rate_file_read(content=content, layout="ecb")
        except KoreError as exc:
            raise ProviderError(f"{self.name}: {exc.message}") from exc


def provider_from_settings() -> RateProvider | None:
    """The configured provider, or None when fetching is off (the default)."""
    url = settings.KORE_FX_PROVIDER_URL
    return EcbCsvProvider(url) if url else None


def exchange_rates_fetch(*, provider: RateProvider) -> int:
    """Fetch once, store in every organisation; returns how many rates were stored.

    A day's rate a person set or imported stays: the provider fills the other days and replaces
    only its own earlier rates.
    """
    fetched = provider.fetch()
    stored = 0
    for organization in Organization.objects.order_by("pk").iterator():
        with transaction.atomic():
            kept = set(
                ExchangeRate.objects.filter(
                    organization=organization,
                    date__in={item.date for item in fetched},
                )
                .exclude(source=ExchangeRate.Source.PROVIDER)
                .values_list("base", "quote", "date")
            )
            items = [i for i in fetched if (i.base, i.quote, i.date) not in kept]
            if items:
                exchange_rates_store(
                    organization=organization, items=items, source=ExchangeRate.Source.PROVIDER
                )
                stored += len(items)
    return stored
