"""Reads the web pages need beside the ledger's own selectors."""

from django.db import connection

from kore.ledger import selectors as ledger_selectors
from kore.ledger.models import Account, Category
from kore.orgs.models import Organization, User
from kore.orgs.selectors import organization_list

_REFS_SQL = """
SELECT
  (SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'currency', a.currency,
          'kind', a.kind, 'archived', a.archived, 'version', a.version) ORDER BY a.name, a.id),
          '[]'::json)
   FROM ledger_account a WHERE a.organization_id = %s),
  (SELECT coalesce(json_agg(json_build_object('id', c.id, 'name', c.name, 'kind', c.kind,
          'parent_id', c.parent_id, 'depth', c.depth, 'version', c.version)
          ORDER BY c.depth, c.name, c.id), '[]'::json)
   FROM ledger_category c WHERE c.organization_id = %s),
  (SELECT coalesce(json_agg(json_build_object('id', o.id, 'name', o.name, 'slug', o.slug)
          ORDER BY o.name, o.id), '[]'::json)
   FROM orgs_organization o JOIN orgs_membership m ON m.organization_id = o.id
   WHERE m.user_id = %s)
"""


def page_refs(
    *, organization: Organization, user: User
) -> tuple[list[Account], list[Category], list[Organization]]:
    """The organisation's accounts and categories and the person's organisations, for the
    transactions page (names for ids, filter options, the switcher): one round trip on PostgreSQL.
    The instances are for display only (never saved)."""
    if connection.vendor != "postgresql":
        return (
            list(ledger_selectors.account_list(organization=organization)),
            list(ledger_selectors.category_list(organization=organization)),
            list(organization_list(user=user).only("name", "slug")),
        )
    with connection.cursor() as cursor:
        cursor.execute(_REFS_SQL, [organization.pk, organization.pk, user.pk])
        accounts, categories, orgs = cursor.fetchone()
    return (
        [Account(organization=organization, **a) for a in accounts],
        [Category(organization=organization, **c) for c in categories],
        [Organization(**o) for o in orgs],
    )
