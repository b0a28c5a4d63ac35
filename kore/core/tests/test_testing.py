"""wait_until: an asynchronous effect is waited for with a deadline, never asserted at once."""

import threading
import time

import pytest

from kore.core.testing import wait_until


def test_wait_until_returns_the_value_once_the_effect_lands():
    landed = threading.Event()
    timer = threading.Timer(0.3, landed.set)  # the effect, a moment after its cause
    timer.start()
    try:
        assert landed.is_set() is False  # asserting at once would fail here
        assert wait_until(lambda: landed.is_set() and "landed", timeout=10, what="the effect")
        assert landed.is_set()
    finally:
        timer.cancel()


def test_wait_until_fails_naming_what_it_waited_for_once_the_deadline_passes():
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"after 0.2 s waiting for the lock .*last value: 0"):
        wait_until(lambda: 0, timeout=0.2, what="the lock")
    assert 0.2 <= time.monotonic() - started < 5
