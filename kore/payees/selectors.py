"""Reads of payees and rules, always within one organisation."""

from django.db.models import Prefetch, QuerySet

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
