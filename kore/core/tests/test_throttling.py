"""Rate limits on the real cache: a burst across a window boundary gets no second allowance."""

import pytest

from kore.core import throttling


class TenPerMinute(throttling.SimpleRateThrottle):
    scope = "test"
    rate = "10/min"

    def get_cache_key(self, request, view):
        return "throttle-test:caller"


@pytest.fixture
def clock(monkeypatch):
    now = [6_000_000.0]  # a window boundary (a multiple of 60)
    monkeypatch.setattr(throttling.time, "time", lambda: now[0])
    return now


def _hits(n: int) -> list[bool]:
    return [TenPerMinute().allow_request(None, None) for _ in range(n)]


def test_the_rate_is_allowed_and_the_next_request_refused(clock):
    clock[0] += 5
    assert _hits(10) == [True] * 10
    assert _hits(1) == [False]


def test_a_burst_across_the_window_boundary_is_still_limited(clock):
    clock[0] -= 0.5  # the last half second of a window
    assert _hits(10) == [True] * 10
    clock[0] += 1.0  # the first half second of the next one
    assert _hits(1) == [False]


def test_the_allowance_comes_back_as_the_previous_window_slides_out(clock):
    clock[0] -= 0.5
    assert _hits(10) == [True] * 10
    clock[0] += 30.5  # halfway through the next window: half of the burst still counts
    assert _hits(5) == [True] * 5
    assert _hits(1) == [False]
    clock[0] += 91  # two windows on: nothing of either is left
    assert _hits(10) == [True] * 10
