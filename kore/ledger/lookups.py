"""``field__ilike_contains=value``: case-insensitive "contains" that the trigram indexes serve.

Django's ``icontains`` on PostgreSQL is ``UPPER(col::text) LIKE UPPER(%s)``, which only an index
on ``UPPER(col)`` can answer. pg_trgm folds case itself, so on PostgreSQL this lookup is
``col ILIKE %s`` and the trigram index is on the plain column: one case conversion less for
every row the index is built from or kept up to date with. Elsewhere (SQLite) it is
``icontains`` unchanged. The value is matched literally (``%``, ``_`` and ``\\`` escaped).
"""

from typing import Any

from django.db import models
from django.db.models import lookups


class ILikeContains(lookups.IContains):
    lookup_name = "ilike_contains"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        return lookups.IContains(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} ILIKE {rhs_sql}", (*lhs_params, *rhs_params)


models.CharField.register_lookup(ILikeContains)
models.TextField.register_lookup(ILikeContains)
