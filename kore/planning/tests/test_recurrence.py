"""Schedule rules as dates: month ends, leap years, business days, intervals and daylight saving."""

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from kore.orgs.models import Organization
from kore.orgs.selectors import organization_today
from kore.planning.recurrence import due_dates, first_due_date


def dates(rule: str, start: date, count: int, **kwargs) -> list[date]:
    return list(due_dates(rule, starts_on=start, limit=count, **kwargs))


def test_the_31st_falls_on_each_months_last_day():
    assert dates("monthly", date(2023, 12, 31), 5, day_of_month=31) == [
        date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31),
        date(2024, 4, 30),
    ]  # fmt: skip


def test_the_29th_is_the_28th_of_february_outside_leap_years():
    got = dates("monthly", date(2023, 1, 1), 14, day_of_month=29)
    assert date(2023, 2, 28) in got
    assert date(2024, 2, 29) in got
    assert all(d.day == 29 for d in got if d.month != 2)


def test_a_leap_day_start_monthly_on_the_29th_every_twelve_months():
    got = dates("monthly", date(2024, 2, 29), 5, day_of_month=29, interval=12)
    assert got == [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28),
                   date(2028, 2, 29)]  # fmt: skip


def test_last_business_day_skips_weekends():
    got = dates("last_business_day", date(2026, 1, 1), 6)
    # Jan 30 (Fri; 31 is Sat), Feb 27 (Fri), Mar 31 (Tue), Apr 30 (Thu), May 29 (Fri), Jun 30 (Tue)
    assert got == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 31), date(2026, 4, 30),
                   date(2026, 5, 29), date(2026, 6, 30)]  # fmt: skip


def test_every_two_weeks_keeps_the_weekday_across_daylight_saving_changes():
    got = dates("weekly", date(2026, 3, 20), 4, interval=2)  # Berlin: summer time from Mar 29
    assert got == [date(2026, 3, 20), date(2026, 4, 3), date(2026, 4, 17), date(2026, 5, 1)]
    autumn = dates("weekly", date(2026, 10, 19), 3)  # winter time from Oct 25
    assert autumn == [date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2)]


def test_today_is_the_organisations_date_around_a_daylight_saving_change():
    org = Organization(time_zone="Europe/Berlin")
    # 00:30 in Berlin on Mar 29 (still CET, UTC+1) is 23:30 UTC on Mar 28.
    assert organization_today(organization=org, now=datetime(2026, 3, 28, 23, 30, tzinfo=UTC)) \
        == date(2026, 3, 29)  # fmt: skip
    # 00:30 in Berlin on Oct 26 (CET again after the change) is 23:30 UTC on Oct 25.
    assert organization_today(organization=org, now=datetime(2026, 10, 25, 23, 30, tzinfo=UTC)) \
        == date(2026, 10, 26)  # fmt: skip
    # Summer time (UTC+2) from Mar 29: 22:30 UTC that day is already Mar 30 in Berlin.
    assert organization_today(organization=org, now=datetime(2026, 3, 29, 22, 30, tzinfo=UTC)) \
        == date(2026, 3, 30)  # fmt: skip


def test_an_end_before_the_first_date_produces_none():
    assert first_due_date("monthly", starts_on=date(2026, 3, 5), interval=1, day_of_month=1,
                          ends_on=date(2026, 3, 31)) is None  # fmt: skip
    assert first_due_date("monthly", starts_on=date(2026, 3, 5), interval=1, day_of_month=1,
                          ends_on=date(2026, 4, 1)) == date(2026, 4, 1)  # fmt: skip


@given(
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    day=st.integers(min_value=1, max_value=31),
)
def test_monthly_dates_are_the_day_or_the_months_last(start: date, day: int):
    import calendar

    for got in dates("monthly", start, 13, day_of_month=day):
        last = calendar.monthrange(got.year, got.month)[1]
        assert got.day == min(day, last)
        assert got >= start
