"""Reads of payees and rules, always within one organisation."""

from typing import Any

from django.db.models import Prefetch, QuerySet

from kore.ledger.models import Category, Transaction
from kore.orgs.models import Organization

from .models import Payee, PayeeAlias, Rule, RuleRun


def payee_list(*, organization: Organization, q: str = "") -> QuerySet[Payee]:
    """The organisation's payees by name, aliases prefetched (two queries)."""
    payees = Payee.objects.filter(organization=organization)
    if q:
        payees = payees.filter(name__icontains=q)
    return payees.order_by("name", "id").prefetch_related(
        Prefetch("aliases", queryset=PayeeAlias.objects.order_by("key"))
    )


def payee_get(*, organization: Organization, payee_id: int) -> Payee | None:
    return payee_list(organization=organization).filter(pk=payee_id).first()


def rule_list(*, organization: Organization) -> QuerySet[Rule]:
    return Rule.objects.filter(organization=organization).order_by("position", "id")


def rule_get(*, organization: Organization, rule_id: int) -> Rule | None:
    return rule_list(organization=organization).filter(pk=rule_id).first()


def rule_run_get(*, organization: Organization, run_id: int) -> RuleRun | None:
    return RuleRun.objects.filter(organization=organization, pk=run_id).first()


OFFER_MIN_ROWS = 2


def rule_offer(
    *, organization: Organization, transactions: QuerySet[Transaction], category_id: int
) -> dict[str, Any] | None:
    """The rule that would have given these rows ``category_id``: offered when they are at
    least two rows of one payee and no rule of the organisation already sets a category for
    that payee. In the shape ``POST /rules/`` takes."""
    payees = list(transactions.values_list("payee_id", flat=True).distinct()[:2])
    if len(payees) != 1 or payees[0] is None or transactions.count() < OFFER_MIN_ROWS:
        return None
    payee = Payee.objects.filter(organization=organization, pk=payees[0]).first()
    category = Category.objects.filter(organization=organization, pk=category_id).first()
    if payee is None or category is None:
        return None
    for rule in Rule.objects.filter(organization=organization):
        names_it = any(
            (c.get("field") == "payee_id" and c.get("value") == payee.pk)
            or (
                c.get("field") == "payee"
                and str(c.get("value", "")).casefold() == payee.name.casefold()
            )
            for c in rule.conditions
        )
        if names_it and ("category" in rule.actions or "split" in rule.actions):
            return None
    return {
        "name": f"{payee.name} → {category.name}"[:120],
        "conditions": [{"field": "payee", "op": "equals", "value": payee.name}],
        "actions": {"category": category.pk},
    }
