"""Writing exchange rates: one at a time, or a batch from an import, all or nothing."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from kore.core.audit import audit_attrs
from kore.core.exceptions import NotFound, RuleViolation
from kore.core.money import is_currency
from kore.ledger.services.state import ledger_version_bump
from kore.orgs.models import Organization

from .models import RATE_DECIMAL_PLACES, ExchangeRate

RATE_MIN = Decimal("0.000001")
RATE_MAX = Decimal(1_000_000)


@dataclass(frozen=True)
class RateInput:
    """One rate to store: one ``base`` costs ``rate`` ``quote`` on ``date``."""

    base: str
    quote: str
    date: date
    rate: Decimal


def rate_check(item: RateInput, *, prefix: str = "") -> None:
    """Refuse a rate Kore could not use: unknown codes, one currency twice, an absurd rate."""
    for name in ("base", "quote"):
        code = getattr(item, name)
        if not is_currency(code):
            _refuse(f"{prefix}{name}", "currency_unknown", f"{code!r} is not an ISO 4217 code.")
    if item.base == item.quote:
        _refuse(f"{prefix}quote", "same_currency", "A rate needs two different currencies.")
    if not item.rate.is_finite() or not RATE_MIN <= item.rate <= RATE_MAX:
        _refuse(
            f"{prefix}rate",
            "rate_out_of_range",
            f"A rate is between {RATE_MIN} and {RATE_MAX:f}; got {item.rate}.",
        )
    _, _, exponent = item.rate.normalize().as_tuple()
    if isinstance(exponent, int) and -exponent > RATE_DECIMAL_PLACES:
        _refuse(
            f"{prefix}rate",
            "rate_precision",
            f"A rate has at most {RATE_DECIMAL_PLACES} decimal places.",
        )


def _refuse(field: str, code: str, message: str) -> None:
    raise RuleViolation(message, code=code, fields={field: [{"code": code, "message": message}]})


def exchange_rate_set(
    *, organization: Organization, item: RateInput, source: str = ExchangeRate.Source.MANUAL
) -> tuple[ExchangeRate, bool]:
    """Store a rate; a second one for the same pair and day replaces it (audited).

    Returns the row and whether it was created.
    """
    rate_check(item)
    stored = exchange_rates_store(organization=organization, items=[item], source=source)
    return stored[0]


@transaction.atomic
def exchange_rates_store(
    *, organization: Organization, items: Sequence[RateInput], source: str
) -> list[tuple[ExchangeRate, bool]]:
    """Store checked rates in one transaction, replacing those of the same pair and day.

    The rows' history records who replaced what (bulk writes are audited too). The last of two
    items for one pair and day wins. Bumps the ledger version: cached reports convert anew.
    """
    ledger_version_bump(organization=organization)
    latest: dict[tuple[str, str, date], RateInput] = {}
    for item in items:
        latest[(item.base, item.quote, item.date)] = item
    existing = {
        (row.base, row.quote, row.date): row
        for row in ExchangeRate.objects.select_for_update().filter(
            organization=organization,
            base__in={k[0] for k in latest},
            quote__in={k[1] for k in latest},
            date__in={k[2] for k in latest},
        )
    }
    created: list[ExchangeRate] = []
    changed: list[ExchangeRate] = []
    result: dict[tuple[str, str, date], tuple[ExchangeRate, bool]] = {}
    for key, item in latest.items():
        row = existing.get(key)
        if row is None:
            row = ExchangeRate(
                organization=organization,
                base=item.base,
                quote=item.quote,
                date=item.date,
                rate=item.rate,
                source=source,
            )
            created.append(row)
            result[key] = (row, True)
        else:
            if row.rate != item.rate or row.source != source:
                row.rate, row.source, row.updated_at = item.rate, source, timezone.now()
                changed.append(row)
            result[key] = (row, False)
    extra = audit_attrs()
    if created:
        bulk_create_with_history(
            created, ExchangeRate, batch_size=500, custom_historical_attrs=extra
        )
    if changed:
        bulk_update_with_history(
            changed,
            ExchangeRate,
            ["rate", "source", "updated_at"],
            batch_size=500,
            custom_historical_attrs=extra,
        )
    return [result[(i.base, i.quote, i.date)] for i in items]


@transaction.atomic
def exchange_rate_delete(*, organization: Organization, rate_id: int) -> None:
    """Delete one of the organisation's rates (audited)."""
    row = ExchangeRate.objects.filter(organization=organization, pk=rate_id).first()
    if row is None:
        raise NotFound()
    ledger_version_bump(organization=organization)
    row.delete()
