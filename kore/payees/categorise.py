"""Payees and rules for new transactions: one ``Categoriser`` per call or import (rules compiled
and the organisation's payees read once), asked once per row.

Used by the ledger's create services, by imports and by rule runs; it reads, and writes only
missing payees (``payees_ensure``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from simple_history.utils import bulk_create_with_history

from kore.core.audit import audit_attrs
from kore.imports.matching import counterparty_known, counterparty_normalise
from kore.ledger.models import Account, Category, Tag, Transaction
from kore.orgs.models import Organization
from kore.suggestions.engine import Suggestion

from .models import Payee, PayeeAlias, Rule
from .rules import CompiledRule, Facts, Plan, rule_compile, rules_evaluate

PARTIES_KEPT = 20_000  # counterparties a Categoriser remembers what they come to (then afresh)


def payee_display_name(text: str, key: str) -> str:
    """A new payee's name: the spelling as written when it is plain, else its words titled."""
    written = " ".join(text.split())[:200]
    return written if counterparty_normalise(written) == key and not written.isupper() else (
        key.title()
    )  # fmt: skip


def payee_aliases(
    *, organization: Organization, keys: Iterable[str] | None = None
) -> dict[str, int]:
    """The organisation's aliases (normalised spelling → payee id); only ``keys`` and their
    word prefixes (what ``counterparty_known`` may look up) when given."""
    aliases = PayeeAlias.objects.filter(organization=organization)
    if keys is not None:
        wanted = {" ".join(k.split()[:n]) for k in keys for n in range(1, len(k.split()) + 1)}
        aliases = aliases.filter(key__in=wanted)
    return dict(aliases.values_list("key", "payee_id"))


def payees_ensure(
    *, organization: Organization, names: dict[str, str], user: Any = None
) -> dict[str, int]:
    """Payee ids for normalised spellings (``names``: key → name for a new payee), creating the
    missing payees with one alias each. Safe against a concurrent writer of the same key."""
    known = payee_aliases(organization=organization, keys=names)
    found: dict[str, int] = {}
    missing: dict[str, str] = {}
    for key, name in names.items():
        pk = counterparty_known(key, known)
        if pk is None:
            missing[key] = name
        else:
            found[key] = pk
    if not missing:
        return found
    # Shortest first, so "blue bottle coffee oakland" joins a new "blue bottle coffee".
    root_of: dict[str, str] = {}
    for key in sorted(missing, key=lambda k: len(k.split())):
        root_of[key] = counterparty_known(key, root_of) or key
    roots = [key for key, root in root_of.items() if key == root]
    with db_transaction.atomic():
        payees = [Payee(organization=organization, name=missing[key]) for key in roots]
        created = dict(
            zip(
                roots,
                bulk_create_with_history(
                    payees, Payee, default_user=user, custom_historical_attrs=audit_attrs()
                ),
                strict=True,
            )
        )
        aliases = [
            PayeeAlias(organization=organization, payee=created[root], key=key)
            for key, root in root_of.items()
        ]
        PayeeAlias.objects.bulk_create(aliases, ignore_conflicts=True)
        owners = dict(
            PayeeAlias.objects.filter(organization=organization, key__in=missing).values_list(
                "key", "payee_id"
            )
        )
        # Another writer took a key first: its payee is the one, ours goes when it kept none.
        used = set(owners.values())
        orphans = [p.pk for p in created.values() if p.pk not in used]
        if orphans:
            Payee.objects.filter(pk__in=orphans).delete()
    return {**found, **owners}


def payees_for_counterparties(
    *, organization: Organization, counterparties: Iterable[str], user: Any = None
) -> dict[str, int]:
    """Payee ids for counterparties as written (those that normalise to nothing have none)."""
    names: dict[str, str] = {}
    key_of: dict[str, str] = {}
    for text in counterparties:
        key = counterparty_normalise(text)
        if key:
            key_of[text] = key
            names.setdefault(key, payee_display_name(text, key))
    if not names:
        return {}
    ids = payees_ensure(organization=organization, names=names, user=user)
    return {text: ids[key] for text, key in key_of.items()}


def rules_compiled(*, organization: Organization) -> list[CompiledRule]:
    """The organisation's enabled rules in order, compiled (once per call or import)."""
    rules = Rule.objects.filter(organization=organization, enabled=True).order_by("position", "id")
    return [rule_compile(r.pk, r.conditions, r.actions) for r in rules]


@dataclass(frozen=True, slots=True)
class Subject:
    """A transaction about to be written or changed, as the categoriser sees it."""

    description: str
    counterparty: str
    amount: Decimal
    account_id: int
    currency: str
    occurred_on: date
    transfer: bool = False
    taken: frozenset[str] = frozenset()  # fields the user set: no rule touches them


@dataclass
class Decision:
    """What a row gets: its payee (``payee_id``, or a new payee ``payee_key``/``payee_name``)
    and the rules' values (``category``, ``tags``, ``notes``, ``split``, ``transfer``)."""

    payee_id: int | None = None
    payee_key: str = ""
    payee_name: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    rules: list[int] = field(default_factory=list)
    # What an import does once the row is written: split lines, a transfer (kore.imports).
    extra: dict[str, Any] = field(default_factory=dict)
    # An import's auto-apply (kore.suggestions): the row's suggestions, best first, when the
    # best one's category is applied (nothing else gave the row a category).
    suggested: list[Suggestion] = field(default_factory=list)


class Categoriser:
    """Reads the organisation's rules, and its payees and categories, once; ``counterparties``
    (a call's few rows) narrows the payees read to the ones they may name."""

    def __init__(
        self,
        organization: Organization,
        rules: Sequence[CompiledRule] | None = None,
        counterparties: Iterable[str] | None = None,
    ) -> None:
        self.organization = organization
        self.rules = list(rules_compiled(organization=organization) if rules is None else rules)
        keys = None
        if counterparties is not None:
            keys = {k for k in map(counterparty_normalise, counterparties) if k}
        self.aliases = payee_aliases(organization=organization, keys=keys)
        payees = Payee.objects.filter(organization=organization)
        if keys is not None:
            named = {r.actions.get("payee") for r in self.rules} - {None}
            payees = payees.filter(pk__in={*self.aliases.values(), *named})
        self.payees: dict[int, tuple[str, int | None]] = {
            pk: (name, category)
            for pk, name, category in payees.values_list("pk", "name", "default_category_id")
        }
        self.kinds = dict(
            Category.objects.filter(organization=organization).values_list("pk", "kind")
        )
        moved = {r.actions["transfer"] for r in self.rules if "transfer" in r.actions}
        self.accounts = set(
            Account.objects.filter(organization=organization, pk__in=moved, archived=False)
            .values_list("pk", flat=True)
        ) if moved else set()  # fmt: skip
        # What a counterparty as written comes to (payee key, id, new name, name rules see), and
        # which rules its payee lets through (rules_evaluate): rows repeat their counterparties.
        self.parties: dict[str, tuple[str, int | None, str, str]] = {}
        self.plans: dict[tuple[Any, ...], Plan] = {}

    def _party(self, counterparty: str) -> tuple[str, int | None, str, str]:
        found = self.parties.get(counterparty)
        if found is not None:
            return found
        key = counterparty_normalise(counterparty) if counterparty else ""
        payee_id, payee_name = None, ""
        if key:
            payee_id = counterparty_known(key, self.aliases)
            if payee_id is None:
                payee_name = payee_display_name(counterparty, key)
        name = self.payees[payee_id][0] if payee_id else payee_name
        if len(self.parties) >= PARTIES_KEPT:
            self.parties.clear()
        found = self.parties[counterparty] = (key, payee_id, payee_name, name)
        return found

    def decide(self, row: Subject) -> Decision:
        key, payee_id, payee_name, name = self._party(row.counterparty)
        decision = Decision(payee_id=payee_id, payee_key=key, payee_name=payee_name)
        if self.rules:
            facts = Facts(row.description, row.counterparty, name, payee_id, row.amount,
                          row.account_id, row.currency, row.occurred_on)  # fmt: skip
            outcome = rules_evaluate(self.rules, facts, taken=row.taken, plans=self.plans)
            values, decision.rules = outcome.values, outcome.rules
            self._drop_gone(values)
        else:
            values = {}
        if "payee" in values:
            decision.payee_id, decision.payee_name = values.pop("payee"), ""
        if "category" not in values and "category" not in row.taken and "split" not in values:
            default = self.payees.get(decision.payee_id or 0, ("", None))[1]
            if default is not None:
                values["category"] = default
        if row.transfer:
            values.pop("transfer", None)
        if row.transfer or "transfer" in values:  # a leg: no income or expense category
            values.pop("split", None)
            if self.kinds.get(values.get("category") or 0) != Category.Kind.TRANSFER:
                values.pop("category", None)
        decision.values = values
        return decision

    def _drop_gone(self, values: dict[str, Any]) -> None:
        """A rule's category, split category or payee deleted since it was saved sets nothing."""
        if "category" in values and values["category"] not in self.kinds:
            del values["category"]
        if "split" in values and any(p["category"] not in self.kinds for p in values["split"]):
            del values["split"]
        if "payee" in values and values["payee"] not in self.payees:
            del values["payee"]
        if "transfer" in values and values["transfer"] not in self.accounts:
            del values["transfer"]


def payees_settle(
    *, organization: Organization, decisions: Iterable[Decision], user: Any = None
) -> None:
    """Create the new payees the decisions name and give each decision its payee id."""
    pending = [d for d in decisions if d.payee_id is None and d.payee_key]
    if not pending:
        return
    ids = payees_ensure(
        organization=organization, names={d.payee_key: d.payee_name for d in pending}, user=user
    )
    for decision in pending:
        decision.payee_id = ids[decision.payee_key]


def rule_tags_ensure(*, organization: Organization, rules: Sequence[CompiledRule]) -> None:
    """Create the tags rules give (an import links them set-based, by name)."""
    names = sorted({n.strip() for r in rules for n in r.actions.get("tags") or () if n.strip()})
    if names:
        Tag.objects.bulk_create(
            [Tag(organization=organization, name=n) for n in names], ignore_conflicts=True
        )


def tags_link(*, organization: Organization, tags: Sequence[tuple[int, Sequence[str]]]) -> None:
    """Add tags (by name, created when missing) to transactions: ``(transaction id, names)``."""
    wanted = {n.strip() for _, names in tags for n in names if n.strip()}
    if not wanted:
        return
    Tag.objects.bulk_create(
        [Tag(organization=organization, name=n) for n in sorted(wanted)], ignore_conflicts=True
    )
    ids = dict(
        Tag.objects.filter(organization=organization, name__in=wanted).values_list("name", "pk")
    )
    through = Transaction.tags.through
    through.objects.bulk_create(
        [
            through(transaction_id=tx_id, tag_id=ids[n.strip()])
            for tx_id, names in tags
            for n in {n.strip() for n in names if n.strip()}
        ],
        ignore_conflicts=True,
    )


class CategoryNames:
    """An organisation's categories by name (any case) and by path ("Parent:Child"), for a
    category column of an imported file."""

    def __init__(self, organization: Organization) -> None:
        rows = list(
            Category.objects.filter(organization=organization).values_list("pk", "name", "parent")
        )
        by_id = {pk: (name, parent) for pk, name, parent in rows}
        self.found: dict[str, list[int]] = {}
        for pk, name, _parent in rows:
            path, at = [name], by_id[pk][1]
            while at is not None:
                path.insert(0, by_id[at][0])
                at = by_id[at][1]
            self.found.setdefault(name.casefold(), []).append(pk)
            if len(path) > 1:
                self.found.setdefault(":".join(path).casefold(), []).append(pk)

    def find(self, text: str) -> tuple[int | None, str]:
        """The category ``text`` names, or None and why not (``category_unknown`` or
        ``category_ambiguous``)."""
        key = ":".join(part.strip() for part in text.split(":")).casefold()
        ids = self.found.get(key, [])
        if len(ids) == 1:
            return ids[0], ""
        return None, "category_ambiguous" if ids else "category_unknown"
