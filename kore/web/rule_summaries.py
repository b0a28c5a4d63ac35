"""A rule in words for the rules list: "account is Checking → category Food, transfer to
Savings". Ids are named from lists the page already holds (one query per kind, whatever the
number of rules); an id that names nothing any more is shown as such."""

from dataclasses import dataclass
from typing import Any

from kore.payees.models import Rule
from kore.payees.rules import ACTION_FIELDS

from .rule_forms import CONDITION_FIELDS, RuleChoices

FIELD_WORDS = dict(CONDITION_FIELDS)
OP_WORDS = {"contains": "contains", "equals": "is", "regex": "matches"}


@dataclass(frozen=True)
class RuleNames:
    """Names by id of the organisation's categories, accounts and payees."""

    categories: dict[int, str]
    accounts: dict[int, str]
    payees: dict[int, str]

    @classmethod
    def of(cls, choices: RuleChoices) -> "RuleNames":
        return cls(
            categories={c.pk: c.name for c in choices.categories},
            accounts={a.pk: a.name for a in choices.accounts},
            payees={p.pk: p.name for p in choices.payees},
        )


@dataclass(frozen=True)
class RuleSummary:
    conditions: list[str]
    actions: list[str]


def _name(names: dict[int, str], value: Any, kind: str) -> str:
    return names.get(value) or f"(a deleted {kind})"


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"from {low} to {high}"
    return f"from {low}" if low is not None else f"up to {high}"


def _condition(raw: dict[str, Any], names: RuleNames) -> str:
    field, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if field == "account":
        return f"account is {_name(names.accounts, value, 'account')}"
    if field == "payee_id":
        return f"payee is {_name(names.payees, value, 'payee')}"
    if field == "direction":
        return "money in" if value == "in" else "money out"
    if field == "currency":
        return f"currency is {value}"
    if field in ("amount", "date") and isinstance(value, dict):
        keys = ("min", "max") if field == "amount" else ("from", "to")
        return f"{field} {_range(value.get(keys[0]), value.get(keys[1]))}"
    label = FIELD_WORDS.get(str(field), str(field)).lower()
    return f"{label} {OP_WORDS.get(str(op), op)} “{value}”"


def _actions(actions: dict[str, Any], names: RuleNames) -> list[str]:
    out: list[str] = []
    # In the rules' own order of actions: JSONB keeps an object's keys in an order of its own.
    for key in ACTION_FIELDS:
        value = actions.get(key)
        if value is None:
            continue
        if key == "category":
            out.append(f"category {_name(names.categories, value, 'category')}")
        elif key == "payee":
            out.append(f"payee {_name(names.payees, value, 'payee')}")
        elif key == "transfer":
            out.append(f"transfer to {_name(names.accounts, value, 'account')}")
        elif key == "tags":
            out.append(f"tags {', '.join(value)}")
        elif key == "notes":
            out.append(f"notes “{value}”")
        elif key == "split":
            parts = [
                f"{_name(names.categories, p.get('category'), 'category')} {p.get('percent')} %"
                for p in value
            ]
            out.append(f"split {', '.join(parts)}")
    return out


def rule_summary(rule: Rule, names: RuleNames) -> RuleSummary:
    """What the rule looks at and what it sets, in the words the page shows."""
    return RuleSummary(
        conditions=[_condition(c, names) for c in rule.conditions],
        actions=_actions(rule.actions, names),
    )
