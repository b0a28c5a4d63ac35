"""Transactions rendered to JSON by PostgreSQL: the list's hot path.

Each row comes back as the TransactionOutput object already encoded, so a page costs one query
and no per-field Python. ``serializers.transaction_json`` renders the same shape from Python
rows (SQLite, single objects); a test holds the two to the same output. Rows flagged as
having no tags or splits (most rows) skip looking for them.
"""

import json
from functools import cache

import iso4217

T = '"ledger_transaction"'
_TIMESTAMP = """to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_PLACES = f'((%s::jsonb) ->> {T}."currency")::int'

ROW_JSON = f"""json_build_object(
  'id', {T}."id",
  'account', {T}."account_id",
  'occurred_on', {T}."occurred_on",
  'amount', round({T}."amount", {_PLACES})::text,
  'currency', {T}."currency",
  'description', {T}."description",
  'counterparty', {T}."counterparty",
  'category', {T}."category_id",
  'tags', CASE WHEN {T}."has_tags" THEN COALESCE((
      SELECT json_agg(g."name" ORDER BY g."name")
      FROM "ledger_transaction_tags" tt JOIN "ledger_tag" g ON g."id" = tt."tag_id"
      WHERE tt."transaction_id" = {T}."id"), '[]'::json) ELSE '[]'::json END,
  'reference', {T}."reference",
  'notes', {T}."notes",
  'metadata', {T}."metadata",
  'status', {T}."status",
  'splits', CASE WHEN {T}."has_splits" THEN COALESCE((
      SELECT json_agg(json_build_object(
          'category', s."category_id",
          'amount', round(s."amount", {_PLACES})::text,
          'memo', s."memo") ORDER BY s."position", s."id")
      FROM "ledger_split" s WHERE s."transaction_id" = {T}."id"), '[]'::json)
      ELSE '[]'::json END,
  'transfer', {T}."transfer_id",
  'statement', {T}."statement_id",
  'created_by', {T}."created_by_id",
  'created_by_token', {T}."created_by_token_id",
  'created_at', {_TIMESTAMP.format(col=T + '."created_at"')},
  'updated_at', {_TIMESTAMP.format(col=T + '."updated_at"')},
  'version', {T}."version",
  'etag', '"' || {T}."id" || '-' || {T}."version" || '"'
)::text"""  # noqa: S608 - constant SQL; the one value is a parameter


@cache
def places_param() -> str:
    """Every ISO 4217 currency with minor units, as the JSON the SQL above reads."""
    return json.dumps(
        {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None},
        sort_keys=True,
    )
