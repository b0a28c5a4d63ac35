"""Converting amounts into a reporting currency: the one owner of the conversion rules.

Call ``convert_amounts(organization=org, lines=[AmountLine(...), ...], currency="EUR")``:

- An amount dated D is converted with the pair's last rate on or before D, no older than the
  organisation's ``max_rate_age_days`` (``rate_date >= D - max_age``).
- A stored rate converts both ways: with EUR→USD stored, USD→EUR is ``1 / rate``.
- With neither, the conversion goes through a pivot currency that has rates to both sides
  (USD→EUR→JPY, "triangulation"); the older of the two legs' dates is the rate's date.
- A line of a transfer between currencies may carry the transfer's own rate
  (``AmountLine.known_rate``): converting into that other currency uses it, whatever the table says.
- A line with no rate, or only rates older than the maximum age, is *not* converted: its status is
  ``missing`` or ``stale`` and it stays out of the total. There is never a silent rate of 1.
- Each converted line is rounded to the reporting currency's ISO 4217 decimals (half up) and the
  total is the sum of the rounded lines, so an explanation's lines add up to the total.

All rates the batch needs are read in one query, so a report converts its grouped rows (one line
per day and currency, say) with a constant number of queries. Each currency and day's rate is
looked up once per batch (``RateTable.day_rate``), however many lines share it.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Literal

from django.db.models import OuterRef, Q, Subquery

from kore.core.exceptions import RuleViolation
from kore.core.money import format_amount, is_currency, minor_units
from kore.orgs.models import Organization

from .models import ExchangeRate

Status = Literal["converted", "missing", "stale"]
Method = Literal["same", "direct", "inverse", "triangulated", "transfer"]
# Pivots tried first when two currencies have no rate between them: the currencies reference
# rates are most often published against.
_PREFERRED_PIVOTS = ("EUR", "USD")
# Room for an amount times both legs' rates before the one division: the quotient is exact to far
# more digits than any rounding to a currency's decimals looks at. One context for every line.
_EXACT = Context(prec=60)
_ONE = Decimal(1)  # a stored rate's ``per`` when it multiplies (nothing to divide by)


@dataclass(frozen=True)
class AmountLine:
    """An amount to convert: ``amount`` in ``currency`` on ``on``.

    ``known_rate`` = (other currency, rate): a transfer's stored rate (one ``currency`` costs
    ``rate`` of the other).
    """

    amount: Decimal
    currency: str
    on: date
    known_rate: tuple[str, Decimal] | None = None


@dataclass(frozen=True)
class ConvertedLine:
    """One line's outcome; ``amount`` is None unless ``status`` is ``converted``."""

    line: AmountLine
    status: Status
    amount: Decimal | None
    rate: Decimal | None
    rate_date: date | None
    method: Method | None
    via: str | None = None

    def explain(self, currency: str) -> dict[str, str | None]:
        """The line as an accountant checks it (JSON-ready strings)."""
        return {
            "amount": format_amount(self.line.amount, self.line.currency),
            "currency": self.line.currency,
            "date": self.line.on.isoformat(),
            "status": self.status,
            "rate": _rate_text(self.rate),
            "rate_date": self.rate_date.isoformat() if self.rate_date else None,
            "method": self.method,
            "via": self.via,
            "converted": format_amount(self.amount, currency) if self.amount is not None else None,
        }


@dataclass
class Conversion:
    """A batch converted into ``currency``: the lines in input order, and their total."""

    currency: str
    lines: list[ConvertedLine] = field(default_factory=list)
    total: Decimal = Decimal(0)

    @property
    def unconverted(self) -> list[ConvertedLine]:
        """The lines left out of the total (no rate, or only a stale one)."""
        return [line for line in self.lines if line.status != "converted"]

    @property
    def complete(self) -> bool:
        return not self.unconverted


def reporting_currency(*, organization: Organization, requested: str | None = None) -> str:
    """The currency to report in: the one asked for, else the organisation's setting.

    An unknown code is a 422 naming the ``currency`` field, never silently ignored.
    """
    if requested is None or requested == "":
        return organization.reporting_currency or organization.default_currency
    code = requested.strip().upper()
    if not is_currency(code):
        message = f"{requested!r} is not an ISO 4217 currency code."
        raise RuleViolation(
            message,
            code="currency_unknown",
            fields={"currency": [{"code": "currency_unknown", "message": message}]},
        )
    return code


def convert_amounts(
    *, organization: Organization, lines: Sequence[AmountLine], currency: str | None = None
) -> Conversion:
    """Convert ``lines`` into ``currency`` (default: the organisation's reporting currency)."""
    target = reporting_currency(organization=organization, requested=currency)
    table = RateTable.load(organization=organization, lines=lines, target=target)
    converted = [table.convert(line, target) for line in lines]
    total = sum((done.amount for done in converted if done.amount is not None), Decimal(0))
    return Conversion(currency=target, lines=converted, total=total)


def round_to(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to ``currency``'s ISO 4217 decimals."""
    return amount.quantize(_unit(currency), rounding=ROUND_HALF_UP)


_UNITS: dict[str, Decimal] = {}


def _unit(currency: str) -> Decimal:
    """The currency's smallest unit (``0.01``, ``1``): what its amounts are rounded to."""
    unit = _UNITS.get(currency)
    if unit is None:
        unit = _UNITS[currency] = Decimal(1).scaleb(-minor_units(currency))
    return unit


def _rate_text(rate: Decimal | None) -> str | None:
    if rate is None:
        return None
    text = format(rate.normalize(), "f")
    return text


@dataclass(frozen=True)
class _Found:
    """A usable rate as the stored rates it comes from: ``times`` / ``per`` (an inverse divides
    by the stored rate rather than multiplying by a rounded reciprocal, so a converted amount is
    rounded once, from the exact quotient)."""

    times: Decimal
    per: Decimal
    on: date
    method: Method
    via: str | None = None

    @property
    def rate(self) -> Decimal:
        return self.times / self.per

    def apply(self, amount: Decimal) -> Decimal:
        exact = _EXACT.multiply(amount, self.times)
        return exact if self.per is _ONE else _EXACT.divide(exact, self.per)


@dataclass(frozen=True)
class DayRate:
    """What every amount in one currency on one day gets when converted into ``target``: its
    status, and the rate (with its date, method and pivot) when one was found. A report that adds
    up many amounts per currency and day converts each with ``convert`` (``RateTable.day_rate``
    looks the rate up once)."""

    target: str
    status: Status
    found: _Found | None = None
    rate: Decimal | None = None

    @property
    def rate_date(self) -> date | None:
        return self.found.on if self.found is not None else None

    def convert(self, amount: Decimal) -> Decimal | None:
        """``amount`` in ``target``, rounded half up once from the exact quotient; None unless
        ``status`` is converted."""
        found = self.found
        if self.status != "converted" or found is None:
            return None
        if found.method == "same":
            return amount
        return found.apply(amount).quantize(_unit(self.target), rounding=ROUND_HALF_UP)

    def line(self, line: AmountLine, amount: Decimal | None) -> ConvertedLine:
        """``line``'s outcome, ``amount`` being ``convert(line.amount)``."""
        found = self.found
        if found is None:
            return ConvertedLine(line, self.status, None, None, None, None)
        return ConvertedLine(
            line, self.status, amount, self.rate, found.on, found.method, found.via
        )


class RateTable:
    """An organisation's rates for a batch's currencies and dates, looked up in memory."""

    def __init__(
        self, *, max_age_days: int, rows: Iterable[tuple[str, str, date, Decimal]]
    ) -> None:
        self.max_age = timedelta(days=max_age_days)
        dates: dict[tuple[str, str], list[date]] = defaultdict(list)
        rates: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
        self.partners: dict[str, set[str]] = defaultdict(set)
        for base, quote, day, rate in sorted(rows, key=lambda r: r[2]):
            dates[(base, quote)].append(day)
            rates[(base, quote)].append(rate)
            self.partners[base].add(quote)
            self.partners[quote].add(base)
        self.dates = dict(dates)
        self.rates = dict(rates)
        # A batch has many lines per currency and day (one per category, say): each pair and day
        # is looked up once.
        self._day_rates: dict[tuple[str, str, date], DayRate] = {}

    @classmethod
    def load(
        cls, *, organization: Organization, lines: Sequence[AmountLine], target: str
    ) -> "RateTable":
        """One query: every rate within the maximum age of the batch's dates."""
        needed = [line for line in lines if line.currency != target]
        if not needed:
            return cls(max_age_days=organization.max_rate_age_days, rows=())
        return cls.load_span(
            organization=organization,
            currencies={line.currency for line in needed},
            first=min(line.on for line in needed),
            last=max(line.on for line in needed),
            target=target,
        )

    @classmethod
    def load_span(
        cls,
        *,
        organization: Organization,
        currencies: set[str],
        first: date,
        last: date,
        target: str,
    ) -> "RateTable":
        """What ``load`` reads, for amounts in ``currencies`` dated ``first`` to ``last``."""
        max_age = organization.max_rate_age_days
        if not currencies - {target}:
            return cls(max_age_days=max_age, rows=())
        first = first - timedelta(days=max_age)
        # Every currency may be a pivot, so the window is read whole. The last direct rate before
        # the window (the second query) only serves to say that a line's rate is stale.
        in_window = ExchangeRate.objects.filter(
            organization=organization, date__gte=first, date__lte=last
        ).values_list("base", "quote", "date", "rate")
        rows = list(in_window)
        stale_query = Q()
        for code in currencies - {target}:
            stale_query |= Q(base=code, quote=target) | Q(base=target, quote=code)
        if stale_query:
            # Each pair's last day before the window (a correlated subquery on the pair's unique
            # index rather than DISTINCT ON, which SQLite, the embedded build's database, lacks).
            before = ExchangeRate.objects.filter(organization=organization, date__lt=first)
            last_day = before.filter(base=OuterRef("base"), quote=OuterRef("quote")).order_by(
                "-date"
            )
            latest = before.filter(stale_query, date=Subquery(last_day.values("date")[:1]))
            rows.extend(latest.values_list("base", "quote", "date", "rate"))
        return cls(max_age_days=max_age, rows=rows)

    def convert(self, line: AmountLine, target: str) -> ConvertedLine:
        if line.currency == target:
            return ConvertedLine(line, "converted", line.amount, _ONE, line.on, "same")
        if line.known_rate is not None and line.known_rate[0] == target:
            stated = line.known_rate[1]
            converted = round_to(line.amount * stated, target)
            return ConvertedLine(line, "converted", converted, stated, line.on, "transfer")
        day = self.day_rate(line.currency, target, line.on)
        return day.line(line, day.convert(line.amount))

    def day_rate(self, source: str, target: str, on: date) -> DayRate:
        """The rate for every amount in ``source`` dated ``on`` (looked up once per currency and
        day, not once per amount)."""
        key = (source, target, on)
        found_before = self._day_rates.get(key)
        if found_before is not None:
            return found_before
        found = (
            _Found(_ONE, _ONE, on, "same") if source == target else self._best(source, target, on)
        )
        if found is None:
            day = DayRate(target, "missing")
        else:
            status: Status = "stale" if found.on < on - self.max_age else "converted"
            day = DayRate(target, status, found, found.rate)
        self._day_rates[key] = day
        return day

    def _best(self, source: str, target: str, on: date) -> _Found | None:
        """The freshest direct or inverse rate; else the freshest triangulation."""
        found = self._pair(source, target, on)
        if found is not None and found.on >= on - self.max_age:
            return found
        best = found
        for pivot in self._pivots(source, target):
            first = self._pair(source, pivot, on)
            second = self._pair(pivot, target, on)
            if first is None or second is None:
                continue
            leg = _Found(
                first.times * second.times,
                first.per * second.per,
                min(first.on, second.on),
                "triangulated",
                via=pivot,
            )
            if best is None or leg.on > best.on:
                best = leg
            if leg.on >= on - self.max_age:
                return leg
        return best

    def _pivots(self, source: str, target: str) -> list[str]:
        both = (self.partners.get(source, set()) & self.partners.get(target, set())) - {
            source,
            target,
        }
        preferred = [c for c in _PREFERRED_PIVOTS if c in both]
        return preferred + sorted(both - set(preferred))

    def _pair(self, source: str, target: str, on: date) -> _Found | None:
        """The last rate on or before ``on`` between the two, stored either way round."""
        direct = self._last(source, target, on)
        inverse = self._last(target, source, on)
        if direct is not None and (inverse is None or direct[0] >= inverse[0]):
            return _Found(direct[1], _ONE, direct[0], "direct")
        if inverse is not None:
            return _Found(_ONE, inverse[1], inverse[0], "inverse")
        return None

    def _last(self, base: str, quote: str, on: date) -> tuple[date, Decimal] | None:
        days = self.dates.get((base, quote))
        if not days:
            return None
        index = bisect_right(days, on)
        if index == 0:
            return None
        return days[index - 1], self.rates[(base, quote)][index - 1]
