"""Rules compiled once and evaluated per row: conditions (all must hold) and the first rule's
value for each field.

Conditions, a list of ``{"field", "op", "value"}``:

* ``description``, ``counterparty``, ``payee`` (the payee's name): ``contains``, ``equals``
  (any case) or ``regex`` (any case; stopped after ``REGEX_TIMEOUT`` seconds, which works in any
  thread: the ``regex`` package checks its own clock, no signal is involved);
* ``payee_id``, ``account``: ``equals`` an id; ``currency``: ``equals`` a code;
* ``direction``: ``equals`` ``in`` or ``out``; ``amount``: ``between`` ``{"min", "max"}``
  (signed decimal strings, either may be absent); ``date``: ``between`` ``{"from", "to"}``.

Actions, an object: ``category`` (id), ``payee`` (id), ``tags`` (names), ``notes`` (text),
``split`` (``[{"category", "percent"}]`` adding up to 100), ``transfer`` (an account id: the
row becomes one leg of a transfer to that account, ``kore.ledger.services.transfers``).
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import regex

from kore.core.money import quantize

REGEX_TIMEOUT = 0.05  # seconds per row and pattern
REGEX_TIMEOUTS_KEPT = 3  # a pattern that times out this often in one run stops being tried
REGEX_SEEN_KEPT = 4096  # texts whose answer a regex condition remembers (then it starts afresh)
TEXT_FIELDS = ("description", "counterparty", "payee")
ACTION_FIELDS = ("category", "payee", "tags", "notes", "split", "transfer")


@dataclass(frozen=True, slots=True)
class Facts:
    """What a rule may look at in one transaction."""

    description: str
    counterparty: str
    payee: str
    payee_id: int | None
    amount: Decimal
    account_id: int
    currency: str
    occurred_on: date


@dataclass(slots=True)
class _Condition:
    field: str
    op: str
    value: Any
    pattern: Any = None
    timeouts: int = 0
    # A regex's answer for texts it has read: an import's payees and counterparties repeat, and
    # a search with a timeout costs several times a dictionary lookup.
    seen: dict[str, bool] = dataclasses.field(default_factory=dict)  # `field` is a field here

    def holds(self, facts: Facts, folded: dict[str, str] | None = None) -> bool:
        """Whether the condition holds; ``folded`` keeps one row's text fields casefolded
        across its conditions (``rules_evaluate`` passes one per row)."""
        name = self.field
        if name in TEXT_FIELDS:
            if self.op == "regex" or folded is None:
                return self._text(getattr(facts, name))
            text = folded.get(name)
            if text is None:
                text = folded[name] = getattr(facts, name).casefold()
            if self.op == "contains":
                return self.value in text
            return bool(text.strip() == self.value)
        if name == "payee_id":
            return bool(facts.payee_id == self.value)
        if name == "account":
            return bool(facts.account_id == self.value)
        if name == "currency":
            return bool(facts.currency == self.value)
        if name == "direction":
            return (facts.amount > 0) == (self.value == "in") and facts.amount != 0
        low, high = self.value
        point = facts.amount if name == "amount" else facts.occurred_on
        return (low is None or point >= low) and (high is None or point <= high)

    def _text(self, text: str) -> bool:
        if self.op == "contains":
            return bool(self.value in text.casefold())
        if self.op == "equals":
            return bool(text.casefold().strip() == self.value)
        known = self.seen.get(text)
        if known is not None:
            return known
        if self.timeouts >= REGEX_TIMEOUTS_KEPT:
            return False
        try:
            found = self.pattern.search(text, timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:
            self.timeouts += 1
            return False
        if len(self.seen) >= REGEX_SEEN_KEPT:
            self.seen.clear()
        self.seen[text] = found
        return found


@dataclass(slots=True)
class CompiledRule:
    id: int
    conditions: list[_Condition]
    actions: dict[str, Any]

    def matches(self, facts: Facts, folded: dict[str, str] | None = None) -> bool:
        for condition in self.conditions:  # noqa: SIM110 - a generator costs more than most conditions
            if not condition.holds(facts, folded):
                return False
        return True

    @property
    def timeouts(self) -> int:
        return sum(c.timeouts for c in self.conditions)


def regex_compile(pattern: str) -> Any:
    """The pattern as the rules run it (any case); ``regex.error`` when it is not one."""
    return regex.compile(pattern, regex.IGNORECASE | regex.V1)


def _bound(value: Any, kind: str) -> Any:
    if value is None:
        return None
    return Decimal(value) if kind == "amount" else date.fromisoformat(value)


def condition_compile(raw: dict[str, Any]) -> _Condition:
    """One validated condition, ready to run (the rule's validation has checked its shape)."""
    name, op, value = raw["field"], raw["op"], raw["value"]
    if name in TEXT_FIELDS:
        if op == "regex":
            return _Condition(name, op, value, pattern=regex_compile(value))
        return _Condition(
            name, op, value.casefold().strip() if op == "equals" else value.casefold()
        )
    if name == "amount":
        return _Condition(
            name, op, (_bound(value.get("min"), name), _bound(value.get("max"), name))
        )
    if name == "date":
        return _Condition(
            name, op, (_bound(value.get("from"), name), _bound(value.get("to"), name))
        )
    return _Condition(name, op, value)


def rule_compile(
    rule_id: int, conditions: Sequence[dict[str, Any]], actions: dict[str, Any]
) -> CompiledRule:
    return CompiledRule(rule_id, [condition_compile(c) for c in conditions], dict(actions))


@dataclass
class Outcome:
    """Each action field's value from the first matching rule that sets it; ``rules`` lists
    the rules that set something, in order."""

    values: dict[str, Any] = field(default_factory=dict)
    rules: list[int] = field(default_factory=list)


def rules_evaluate(
    rules: Sequence[CompiledRule], facts: Facts, *, taken: frozenset[str] = frozenset()
) -> Outcome:
    """One pass in rule order: the first rule that sets a field wins; ``taken`` fields (chosen
    by the user) are never set."""
    outcome = Outcome()
    folded: dict[str, str] = {}
    for rule in rules:
        free = [k for k in rule.actions if k not in taken and k not in outcome.values]
        if not free or not rule.matches(facts, folded):
            continue
        for key in free:
            outcome.values[key] = rule.actions[key]
        outcome.rules.append(rule.id)
    return outcome


def split_amounts(
    amount: Decimal, currency: str, parts: Sequence[dict[str, Any]]
) -> list[tuple[int, Decimal]]:
    """``amount`` split by percentages in the currency's precision; the last part takes the
    rounding remainder, so the lines always add up to the amount."""
    lines: list[tuple[int, Decimal]] = []
    left = amount
    for index, part in enumerate(parts):
        if index == len(parts) - 1:
            share = left
        else:
            share = quantize(amount * Decimal(str(part["percent"])) / 100, currency)
        lines.append((part["category"], share))
        left -= share
    return lines
