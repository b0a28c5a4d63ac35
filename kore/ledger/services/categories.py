"""Categories: a tree at most three levels deep, names unique among siblings."""

from typing import TypedDict, Unpack

from django.db import IntegrityError
from django.db import transaction as db_transaction

from kore.core.exceptions import Conflict, rule_violation
from kore.orgs.scoping import OrgContext

from ..models import Category, Split, Transaction
from ..selectors import category_descendant_ids
from .concurrency import check_version
from .state import ledger_version_bump
from .transactions import transactions_bulk_set


def _parent(ctx: OrgContext, parent_id: int | None, field: str = "parent") -> Category | None:
    if parent_id is None:
        return None
    parent = Category.objects.filter(organization=ctx.organization, pk=parent_id).first()
    if parent is None:
        raise rule_violation(field, "not_found", "No such category in this organisation.")
    return parent


def _subtree_height(category: Category) -> int:
    height, frontier = 0, {category.pk}
    while frontier:
        frontier = set(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        height += 1 if frontier else 0
    return height


def category_create(
    *, ctx: OrgContext, name: str, kind: str = Category.Kind.EXPENSE, parent: int | None = None
) -> Category:
    parent_obj = _parent(ctx, parent)
    depth = parent_obj.depth + 1 if parent_obj else 1
    if depth > Category.MAX_DEPTH:
        raise rule_violation("parent", "category_too_deep", "Categories nest at most three levels.")
    if parent_obj and parent_obj.kind != kind:
        raise rule_violation("kind", "category_kind_mismatch", "A category has its parent's kind.")
    category = Category(
        organization=ctx.organization, name=name, kind=kind, parent=parent_obj, depth=depth
    )
    try:
        with db_transaction.atomic():
            category.save()
            ledger_version_bump(organization=ctx.organization)
    except IntegrityError as exc:
        raise Conflict("A sibling category has this name.", code="category_name_taken") from exc
    return category


class CategoryChanges(TypedDict, total=False):
    """What ``category_update`` changes: a new name, a new parent (None: top level)."""

    name: str
    parent: int | None


def category_update(
    *,
    ctx: OrgContext,
    category: Category,
    if_match: str | None = None,
    **changes: Unpack[CategoryChanges],
) -> Category:
    with db_transaction.atomic():
        category = Category.objects.select_for_update().get(pk=category.pk)
        check_version(category, if_match)
        if "parent" in changes:
            parent = _parent(ctx, changes.pop("parent"))
            if parent is not None and (
                parent.pk == category.pk or parent.pk in category_descendant_ids(category=category)
            ):
                raise rule_violation(
                    "parent", "category_cycle", "A category cannot move under itself."
                )
            depth = parent.depth + 1 if parent else 1
            if depth + _subtree_height(category) > Category.MAX_DEPTH:
                raise rule_violation(
                    "parent", "category_too_deep", "Categories nest at most three levels."
                )
            if parent is not None and parent.kind != category.kind:
                raise rule_violation(
                    "parent", "category_kind_mismatch", "A category has its parent's kind."
                )
            category.parent, category.depth = parent, depth
        for field, value in changes.items():
            setattr(category, field, value)
        category.version += 1
        try:
            with db_transaction.atomic():
                category.save()
                _fix_descendant_depths(category)
        except IntegrityError as exc:
            raise Conflict("A sibling category has this name.", code="category_name_taken") from exc
        ledger_version_bump(organization=ctx.organization)
    return category


def _fix_descendant_depths(category: Category) -> None:
    frontier, depth = [category.pk], category.depth
    while frontier:
        depth += 1
        children = Category.objects.filter(parent_id__in=frontier)
        children.update(depth=depth)
        frontier = list(children.values_list("pk", flat=True))


def category_delete(
    *, ctx: OrgContext, category: Category, reassign_to: int | None = None,
    if_match: str | None = None,
) -> None:  # fmt: skip
    """Delete a category; one in use (transactions, splits or children) needs ``reassign_to``."""
    with db_transaction.atomic():
        category = Category.objects.select_for_update().get(pk=category.pk)
        check_version(category, if_match)
        in_use = (
            Transaction.objects.filter(category=category).exists()
            or Split.objects.filter(category=category).exists()
            or Category.objects.filter(parent=category).exists()
        )
        if in_use and reassign_to is None:
            raise Conflict(
                "The category is in use; pass ?reassign_to=<category id>.", code="category_in_use"
            )
        if in_use:
            target = _parent(ctx, reassign_to, field="reassign_to")
            assert target is not None
            if target.kind != category.kind:
                raise rule_violation(
                    "reassign_to", "category_kind_mismatch", "Reassign to a category of its kind."
                )
            if target.pk == category.pk or target.pk in category_descendant_ids(category=category):
                raise rule_violation("reassign_to", "category_cycle", "Reassign to another branch.")
            seq = ledger_version_bump(organization=ctx.organization)
            transactions_bulk_set(
                ctx=ctx,
                transactions=Transaction.objects.filter(category=category),
                seq=seq,
                category=target,
            )
            Split.objects.filter(category=category).update(category=target)
            for child in Category.objects.filter(parent=category):
                category_update(ctx=ctx, category=child, parent=target.pk)
        category.delete()
        ledger_version_bump(organization=ctx.organization)
