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


_FOLDED, _REGEX, _AMOUNT, _DATE, _DIRECTION, _SAME_AS = range(6)
_SAME = {"payee_id": "payee_id", "account": "account_id", "currency": "currency"}  # Facts'


def _kind(name: str, op: str) -> int:
    if name in TEXT_FIELDS:
        return _REGEX if op == "regex" else _FOLDED
    return {"amount": _AMOUNT, "date": _DATE, "direction": _DIRECTION}.get(name, _SAME_AS)


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
    kind: int = dataclasses.field(init=False, default=0)  # what holds() checks: _kind()

    def __post_init__(self) -> None:
        self.kind = _kind(self.field, self.op)

    def holds(self, facts: Facts, folded: dict[str, str] | None = None) -> bool:
        """Whether the condition holds; ``folded`` keeps one row's text fields casefolded
        across its conditions (``rules_evaluate`` passes one per row)."""
        kind = self.kind
        if kind == _AMOUNT:
            low, high = self.value
            point = facts.amount
            return (low is None or point >= low) and (high is None or point <= high)
        if kind == _FOLDED:
            name = self.field
            if folded is None:
                return self._text(getattr(facts, name))
            text = folded.get(name)
            if text is None:
                text = folded[name] = getattr(facts, name).casefold()
            if self.op == "contains":
                return self.value in text
            return bool(text.strip() == self.value)
        if kind == _REGEX:
            return self._text(getattr(facts, self.field))
        if kind == _DIRECTION:
            return (facts.amount > 0) == (self.value == "in") and facts.amount != 0
        if kind == _DATE:
            low, high = self.value
            day = facts.occurred_on
            return (low is None or day >= low) and (high is None or day <= high)
        return bool(getattr(facts, _SAME[self.field]) == self.value)

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


# Fields whose conditions depend only on who the row is with (and the account): one import
# repeats a few hundred of them, so rules_evaluate decides those conditions once per payee.
PARTY_FIELDS = ("counterparty", "payee", "payee_id", "account", "currency")
# Cheapest first: a rule stops at its first condition that fails.
_COST = {"amount": 0, "direction": 0, "date": 0, "payee_id": 0, "account": 0, "currency": 0}


def _cost(condition: _Condition) -> int:
    if condition.op == "regex":
        return 3
    return _COST.get(condition.field, 1)


@dataclass(slots=True)
class CompiledRule:
    id: int
    conditions: list[_Condition]
    actions: dict[str, Any]
    # The conditions on the party (PARTY_FIELDS), and the others, each cheapest first.
    party: list[_Condition] = field(init=False)
    rest: list[_Condition] = field(init=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.conditions, key=_cost)
        self.party = [c for c in ordered if c.field in PARTY_FIELDS]
        self.rest = [c for c in ordered if c.field not in PARTY_FIELDS]

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


# One party's rules left to check per row: each rule whose party conditions hold, with its other
# conditions.
Plan = list[tuple[CompiledRule, list[_Condition]]]
PLANS_KEPT = 4096  # parties whose plan a caller's ``plans`` remembers (then it starts afresh)


def _plan(rules: Sequence[CompiledRule], facts: Facts, folded: dict[str, str]) -> Plan:
    plan: Plan = []
    for rule in rules:
        for condition in rule.party:
            if not condition.holds(facts, folded):
                break
        else:
            plan.append((rule, rule.rest))
    return plan


def rules_evaluate(
    rules: Sequence[CompiledRule],
    facts: Facts,
    *,
    taken: frozenset[str] = frozenset(),
    plans: dict[tuple[Any, ...], Plan] | None = None,
) -> Outcome:
    """One pass in rule order: the first rule that sets a field wins; ``taken`` fields (chosen
    by the user) are never set. ``plans``, kept by the caller across the rows of one set of
    rules, remembers for each party which rules its party conditions let through."""
    outcome = Outcome()
    values = outcome.values
    folded: dict[str, str] = {}
    if plans is None:
        plan = _plan(rules, facts, folded)
    else:
        party = (facts.counterparty, facts.payee, facts.payee_id, facts.account_id,
                 facts.currency)  # fmt: skip
        found = plans.get(party)
        if found is None:
            timeouts = sum(rule.timeouts for rule in rules)
            found = _plan(rules, facts, folded)
            if sum(rule.timeouts for rule in rules) == timeouts:  # a timeout is not an answer
                if len(plans) >= PLANS_KEPT:
                    plans.clear()
                plans[party] = found
        plan = found
    for rule, rest in plan:
        actions = rule.actions
        if not actions:
            continue
        free = None
        if values or taken:
            free = [k for k in actions if k not in taken and k not in values]
            if not free:
                continue
        for condition in rest:
            if not condition.holds(facts, folded):
                break
        else:
            if free is None:  # nothing set yet: every action
                values.update(actions)
            else:
                for key in free:
                    values[key] = actions[key]
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
