"""When a schedule falls due: its rule expanded into dates, with python-dateutil's rrule.

Dates only, never datetimes: "the 31st" or "every second Friday" is a calendar date in the
organisation's own time zone, so a daylight-saving change cannot move an occurrence by a day.
"""

from collections.abc import Iterator
from datetime import date, datetime, time
from itertools import islice

from dateutil.rrule import FR, MO, MONTHLY, TH, TU, WE, WEEKLY, rrule

RULES = ("monthly", "weekly", "last_business_day")


def _rrule(rule: str, *, starts_on: date, interval: int, day_of_month: int | None) -> rrule:
    start = datetime.combine(starts_on, time())
    if rule == "weekly":
        return rrule(WEEKLY, dtstart=start, interval=interval)
    if rule == "last_business_day":
        weekdays = (MO, TU, WE, TH, FR)
        return rrule(MONTHLY, dtstart=start, interval=interval, byweekday=weekdays, bysetpos=-1)
    if rule == "monthly" and day_of_month is not None and 1 <= day_of_month <= 31:
        if day_of_month <= 28:
            return rrule(MONTHLY, dtstart=start, interval=interval, bymonthday=day_of_month)
        # The 29th to 31st clamp to the month's last day: the latest of 28..day the month has.
        days = tuple(range(28, day_of_month + 1))
        return rrule(MONTHLY, dtstart=start, interval=interval, bymonthday=days, bysetpos=-1)
    raise ValueError(f"unknown rule {rule!r} or day {day_of_month!r}")


def due_dates(
    rule: str,
    *,
    starts_on: date,
    interval: int = 1,
    day_of_month: int | None = None,
    ends_on: date | None = None,
    after: date | None = None,
    until: date | None = None,
    limit: int = 1000,
) -> Iterator[date]:
    """The rule's dates from ``starts_on`` (and after ``after``, exclusive) to the earlier of
    ``ends_on`` and ``until`` (inclusive), at most ``limit`` of them."""
    recurrence = _rrule(rule, starts_on=starts_on, interval=interval, day_of_month=day_of_month)
    last = min((d for d in (ends_on, until) if d is not None), default=None)
    found = (
        recurrence.xafter(datetime.combine(after, time()), inc=False)
        if after is not None and after >= starts_on
        else iter(recurrence)
    )

    def dates() -> Iterator[date]:
        for moment in found:
            day = moment.date()
            if last is not None and day > last:
                return
            yield day

    return islice(dates(), limit)


def first_due_date(
    rule: str, *, starts_on: date, interval: int, day_of_month: int | None, ends_on: date | None
) -> date | None:
    """The rule's first date, or None when it produces none before ``ends_on``."""
    return next(
        due_dates(
            rule, starts_on=starts_on, interval=interval, day_of_month=day_of_month,
            ends_on=ends_on, limit=1,
        ),
        None,
    )  # fmt: skip
