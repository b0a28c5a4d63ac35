"""Rules as the tests want them: in a given order, and the order read back by name."""

from kore.orgs.models import Organization
from kore.payees.models import Rule

CONDITIONS = [{"field": "description", "op": "contains", "value": "x"}]


def rules_in_order(organization: Organization, *names: str) -> list[Rule]:
    """One rule a name, in that order (each tags what it matches)."""
    return [
        Rule.objects.create(
            organization=organization,
            name=name,
            position=index,
            conditions=CONDITIONS,
            actions={"tags": ["t"]},
        )
        for index, name in enumerate(names)
    ]


def rule_names(organization: Organization) -> list[str]:
    """The organisation's rules by name, in their order."""
    return [r.name for r in Rule.objects.filter(organization=organization).order_by("position")]
