"""The daily rate fetch: a thin wrapper, safe to run twice (a day's rate is replaced, not added)."""

from celery import shared_task

from .providers import ProviderError, exchange_rates_fetch, provider_from_settings


@shared_task(
    name="kore.fx.fetch_rates",
    autoretry_for=(ProviderError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=5,
)
def fetch_rates() -> int:
    """Fetch the provider's rates into every organisation; 0 when no provider is set (default)."""
    provider = provider_from_settings()
    if provider is None:
        return 0
    return exchange_rates_fetch(provider=provider)
