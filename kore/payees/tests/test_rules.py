"""Compiled rules' conditions, without the database."""

from datetime import date
from decimal import Decimal

from kore.payees.rules import Facts, condition_compile


def facts(counterparty: str) -> Facts:
    return Facts(
        "Card payment", counterparty, "", None, Decimal("-4.50"), 1, "EUR", date(2024, 3, 1)
    )


class CountingPattern:
    """A compiled pattern's stand-in: counts searches, times out when told to."""

    def __init__(self, pattern, timeout: bool = False) -> None:
        self.pattern, self.timeout, self.searches = pattern, timeout, 0

    def search(self, text, timeout):
        self.searches += 1
        if self.timeout:
            raise TimeoutError
        return self.pattern.search(text, timeout=timeout)


def test_a_regex_condition_searches_a_text_once_and_remembers_its_answer():
    condition = condition_compile({"field": "counterparty", "op": "regex", "value": r"^rewe\b"})
    condition.pattern = counting = CountingPattern(condition.pattern)
    answers = [condition.holds(facts(text), {}) for text in ("REWE Markt", "Aldi", "REWE Markt")]
    assert answers == [True, False, True]
    assert counting.searches == 2


def test_a_regex_search_that_timed_out_is_not_remembered():
    condition = condition_compile({"field": "counterparty", "op": "regex", "value": r"^(a|aa)+$"})
    condition.pattern = counting = CountingPattern(condition.pattern, timeout=True)
    assert [condition.holds(facts("aaaa!"), {}) for _ in range(2)] == [False, False]
    assert (counting.searches, condition.timeouts) == (2, 2)
