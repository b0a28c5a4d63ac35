"""Compiled rules' conditions, without the database."""

from datetime import date
from decimal import Decimal

from kore.payees.rules import Facts, condition_compile, rule_compile, rules_evaluate


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


def test_rules_evaluated_with_remembered_plans_decide_as_without():
    rules = [
        rule_compile(1, [{"field": "amount", "op": "between", "value": {"max": "-10"}},
                         {"field": "counterparty", "op": "contains", "value": "rewe"}],
                     {"category": 5}),
        rule_compile(2, [{"field": "counterparty", "op": "regex", "value": r"^rewe\b"}],
                     {"tags": ["groceries"], "category": 6}),
        rule_compile(3, [{"field": "description", "op": "contains", "value": "card"}], {}),
        rule_compile(4, [{"field": "description", "op": "regex", "value": r"payment$"},
                         {"field": "payee_id", "op": "equals", "value": 7}],
                     {"notes": "Card"}),
    ]  # fmt: skip
    plans: dict = {}
    rows = [
        Facts(text, party, "", payee, Decimal(amount), 1, "EUR", date(2024, 3, 1))
        for text, party, payee, amount in (
            ("Card payment", "REWE Markt", 7, "-12.00"), ("Card payment", "REWE Markt", 7, "-2.00"),
            ("Transfer", "Aldi", None, "-20.00"), ("card payment", "REWE Markt", 8, "-30.00"),
        )
    ]  # fmt: skip
    for row in rows * 2:
        with_plans = rules_evaluate(rules, row, plans=plans)
        without = rules_evaluate(rules, row)
        assert (with_plans.values, with_plans.rules) == (without.values, without.rules)
    assert rules_evaluate(rules, rows[0]).rules == [1, 2, 4]
    assert rules_evaluate(rules, rows[1]).values == {"tags": ["groceries"], "category": 6,
                                                     "notes": "Card"}  # fmt: skip
    assert len(plans) == 3  # one a party: counterparty, payee id
