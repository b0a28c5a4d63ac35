"""Ledger reads, always within one organisation."""

from django.db.models import QuerySet

from kore.orgs.models import Organization

from .models import Account, Category, Statement, Tag


def account_list(*, organization: Organization) -> QuerySet[Account]:
    return Account.objects.filter(organization=organization).order_by("name", "id")


def account_get(*, organization: Organization, account_id: int) -> Account | None:
    return Account.objects.filter(organization=organization, pk=account_id).first()


def category_list(*, organization: Organization) -> QuerySet[Category]:
    return Category.objects.filter(organization=organization).order_by("depth", "name", "id")


def category_get(*, organization: Organization, category_id: int) -> Category | None:
    return Category.objects.filter(organization=organization, pk=category_id).first()


def statement_list(*, organization: Organization) -> QuerySet[Statement]:
    return Statement.objects.filter(organization=organization).order_by("-end_date", "-id")


def statement_get(*, organization: Organization, statement_id: int) -> Statement | None:
    return Statement.objects.filter(organization=organization, pk=statement_id).first()


def tag_list(*, organization: Organization) -> QuerySet[Tag]:
    return Tag.objects.filter(organization=organization).order_by("name")
