"""Seeded transactions generated inside PostgreSQL: one set-based statement per organisation.

Rows are never formatted in Python and parsed again by ``COPY``: ``generate_series`` makes the
slots, and every "random" choice is ``hashint8extended(slot, salt + k)`` scaled to [0, 1), a pure
function of the seed, the organisation and the slot. So the same seed gives the same rows, the two
legs of a transfer see the same draws, and two connections can each fill half the organisations.

One statement per organisation writes, through data-modifying CTEs, its transactions, the
transfers their legs point to, the split lines (two or three, summing exactly to the amount) and
the tag links. Days run oldest first with the ids, so an organisation's newest rows sit together
on disk, as a real ledger's do.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from django.db import connection

from kore.ledger.models import Split, Transaction, Transfer


def _draw(h: int, i: int) -> str:
    """Draw i (0-3) in [0, 1) from hash column h<h>: 16 of its bits."""
    return f"((h{h} >> {16 * i}) & 65535)::float8 / 65536.0"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _template_sql(template: str) -> str:
    """A description template ("Card payment {cp}") as a SQL concatenation."""
    fields = {
        "cp": "cp",
        "m": "to_char(occurred_on, 'Mon YYYY')",
        "r": f"('INV-' || (10000 + floor({_draw(5, 1)} * 90000))::int)",
        "n": f"(100 + floor({_draw(5, 2)} * 900))::int::text",
    }
    parts = [
        fields[piece] if i % 2 else _literal(piece)
        for i, piece in enumerate(re.split(r"\{(cp|m|r|n)\}", template))
        if piece
    ]
    return " || ".join(parts) or "''"


@dataclass
class OrgPlan:
    """What one organisation's statement needs; lists become PostgreSQL arrays."""

    organization_id: int
    owner_id: int
    count: int  # transactions, transfer legs included
    first_tx_id: int
    first_transfer_id: int
    salt: int
    start: date
    days: int
    accounts: list[tuple[int, str]]  # (id, currency)
    account_weights: list[int]
    transfer_category: int
    patterns: list[tuple[int, int, bool, list[str], list[str], float, float]]
    # (category, weight, income, counterparties, descriptions, lo EUR, hi EUR)
    leaves: list[int]
    tags: list[int]
    per_eur: dict[str, float]

    @property
    def pairs(self) -> int:
        """Transfers: ~2 % of the rows are their legs (none with a single account)."""
        return self.count // 100 if len(self.accounts) > 1 else 0

    @property
    def period(self) -> int:
        """Transfer k's legs are rows k·period and k·period + 1."""
        return self.count // self.pairs if self.pairs else self.count + 2

    @property
    def descriptions(self) -> list[str]:
        return [d for p in self.patterns for d in p[4]]

    @property
    def descriptions_by_frequency(self) -> list[tuple[int, str]]:
        """(number, template), the likeliest first: a row's CASE then stops after a few tests."""
        total = sum(p[1] for p in self.patterns)
        chances = [p[1] / total / len(p[4]) for p in self.patterns for _ in p[4]]
        numbered = list(enumerate(self.descriptions, start=1))
        return sorted(numbered, key=lambda item: -chances[item[0] - 1])


@dataclass
class OrgResult:
    transactions: int
    transfers: int
    splits: int
    tag_links: int
    last_seq: int


def _params(plan: OrgPlan) -> dict[str, Any]:
    pat_pick = [i for i, p in enumerate(plan.patterns, start=1) for _ in range(p[1])]
    acc_pick = [i for i, w in enumerate(plan.account_weights, start=1) for _ in range(w)]
    cps: list[str] = []
    cp_off, cp_n, d_off, d_n = [], [], [], []
    descriptions = 0
    for _cat, _w, _income, counterparties, templates, _lo, _hi in plan.patterns:
        cp_off.append(len(cps) + 1)
        cp_n.append(len(counterparties))
        cps.extend(counterparties)
        d_off.append(descriptions + 1)
        d_n.append(len(templates))
        descriptions += len(templates)
    midnight = datetime.combine(plan.start, time(), tzinfo=timezone.utc)  # noqa: UP017
    return {
        "org": plan.organization_id,
        "owner": plan.owner_id,
        "first_id": plan.first_tx_id,
        "first_transfer": plan.first_transfer_id,
        "salt": plan.salt,
        "count": plan.count,
        "pairs": plan.pairs,
        "period": plan.period,
        "days": plan.days,
        "start": plan.start,
        "start_epoch": int(midnight.timestamp()),
        "xfer_cat": plan.transfer_category,
        "pat_pick": pat_pick,
        "p_cat": [p[0] for p in plan.patterns],
        "p_income": [p[2] for p in plan.patterns],
        "p_lo": [float(p[5]) for p in plan.patterns],
        "p_hi": [float(p[6]) for p in plan.patterns],
        "cps": cps,
        "cp_off": cp_off,
        "cp_n": cp_n,
        "d_off": d_off,
        "d_n": d_n,
        "acc_pick": acc_pick,
        "a_id": [a[0] for a in plan.accounts],
        "a_cur": [a[1] for a in plan.accounts],
        "a_rate": [plan.per_eur[a[1]] for a in plan.accounts],
        "a_scale": [1.0 if a[1] == "JPY" else 100.0 for a in plan.accounts],
        "na": len(plan.accounts),
        "leaves": plan.leaves,
        "tags": plan.tags,
    }


def _statement(plan: OrgPlan) -> str:
    tx = Transaction._meta.db_table
    split = Split._meta.db_table
    link = Transaction.tags.through._meta.db_table
    transfer = Transfer._meta.db_table
    describe = "\n      ".join(
        f"WHEN {i} THEN {_template_sql(t)}" for i, t in plan.descriptions_by_frequency
    )
    # Draws: h1 pattern, account (or transfer source), counterparty, description; h2 status,
    # clock, reference?, notes?; h3 metadata?, split?, tags?, transfer destination; h4 the
    # amount (52 bits); h5 reference, invoice and item numbers.
    return f"""
WITH row AS (
  SELECT r, xfer, leg, key, (key * %(days)s / %(count)s)::int AS day,
    hashint8extended(key, %(salt)s) AS h1, hashint8extended(key, %(salt)s + 1) AS h2,
    hashint8extended(key, %(salt)s + 2) AS h3, hashint8extended(key, %(salt)s + 3) AS h4,
    hashint8extended(key, %(salt)s + 4) AS h5
  FROM (
    SELECT r, xfer, CASE WHEN xfer > 0 THEN r %% %(period)s ELSE 0 END AS leg,
      r - CASE WHEN xfer > 0 THEN r %% %(period)s ELSE 0 END AS key
    FROM (
      SELECT r, CASE WHEN r %% %(period)s < 2 AND r / %(period)s < %(pairs)s
                  THEN r / %(period)s + 1 ELSE 0 END AS xfer
      FROM generate_series(0::bigint, %(count)s - 1) AS r
    ) AS numbered
  ) AS keyed
  OFFSET 0
), picked AS (
  SELECT row.*,
    (%(pat_pick)s::int[])[1 + floor({_draw(1, 0)} * cardinality(%(pat_pick)s::int[]))::int] AS p,
    CASE WHEN xfer = 0
      THEN (%(acc_pick)s::int[])[1 + floor({_draw(1, 1)} * cardinality(%(acc_pick)s::int[]))::int]
      ELSE 1 + floor({_draw(1, 1)} * %(na)s)::int END AS src,
    1 + floor({_draw(3, 3)} * (%(na)s - 1))::int AS dst_step,
    %(start)s::date + day AS occurred_on,
    to_timestamp(%(start_epoch)s + day * 86400 + 28800 + floor({_draw(2, 1)} * 43200)) AS ts
  FROM row OFFSET 0
), shaped AS (
  SELECT picked.*,
    CASE WHEN xfer > 0 AND leg = 1 THEN 1 + (src - 1 + dst_step) %% %(na)s ELSE src END AS acc,
    (%(cps)s::text[])[
      (%(cp_off)s::int[])[p] + floor({_draw(1, 2)} * (%(cp_n)s::int[])[p])::int] AS cp,
    (%(d_off)s::int[])[p] + floor({_draw(1, 3)} * (%(d_n)s::int[])[p])::int AS d,
    CASE WHEN xfer > 0 THEN floor(5000 + 295000 * ((h4 & 4503599627370495)::float8
                                                   / 4503599627370496.0)) / 100
      ELSE (%(p_lo)s::float8[])[p] + ((%(p_hi)s::float8[])[p] - (%(p_lo)s::float8[])[p])
           * ((h4 & 4503599627370495)::float8 / 4503599627370496.0) ^ 2 END AS eur,
    xfer = 0 AND NOT (%(p_income)s::bool[])[p] AS spending
  FROM picked OFFSET 0
), priced AS (
  SELECT shaped.*,
    (%(a_cur)s::text[])[acc] AS currency,
    greatest(round(eur * (%(a_rate)s::float8[])[acc] * (%(a_scale)s::float8[])[acc]), 1)::bigint
      * CASE WHEN spending OR (xfer > 0 AND leg = 0) THEN -1 ELSE 1 END AS units,
    spending AND {_draw(3, 1)} < 0.03 AND eur >= 10 AS has_splits,
    xfer = 0 AND {_draw(3, 2)} < 0.08 AS has_tags
  FROM shaped OFFSET 0
), ins AS (
  INSERT INTO "{tx}" (
    id, organization_id, account_id, occurred_on, amount, currency, description, counterparty,
    category_id, reference, notes, metadata, status, transfer_id, created_by_id, created_at,
    updated_at, version, change_seq, has_splits, has_tags)
  SELECT
    %(first_id)s + r, %(org)s, (%(a_id)s::bigint[])[acc], occurred_on,
    CASE WHEN currency = 'JPY' THEN units::numeric ELSE units::numeric * 0.01 END, currency,
    CASE WHEN xfer > 0 THEN 'Transfer to ' || (%(a_cur)s::text[])[
           1 + (src - 1 + dst_step) %% %(na)s] || ' account'
      ELSE CASE d
      {describe}
      END END,
    CASE WHEN xfer > 0 THEN '' ELSE cp END,
    CASE WHEN xfer > 0 THEN %(xfer_cat)s WHEN has_splits THEN NULL
      ELSE (%(p_cat)s::bigint[])[p] END,
    CASE WHEN xfer = 0 AND {_draw(2, 2)} < 0.2
      THEN 'REF' || lpad(floor({_draw(5, 0)} * 1000000)::int::text, 6, '0') ELSE '' END,
    CASE WHEN xfer = 0 AND {_draw(2, 3)} < 0.02 THEN 'Check with accounting' ELSE '' END,
    CASE WHEN xfer = 0 AND {_draw(3, 0)} < 0.05 THEN '{{"source": "bank-import"}}'::jsonb
      ELSE '{{}}'::jsonb END,
    CASE WHEN %(days)s - 1 - day > 60 THEN
           CASE WHEN {_draw(2, 0)} < 0.7 THEN 'reconciled' ELSE 'cleared' END
         WHEN %(days)s - 1 - day > 7 THEN
           CASE WHEN {_draw(2, 0)} < 0.8 THEN 'cleared' ELSE 'pending' END
         ELSE CASE WHEN {_draw(2, 0)} < 0.6 THEN 'pending' ELSE 'cleared' END END,
    CASE WHEN xfer > 0 THEN %(first_transfer)s + xfer - 1 END,
    %(owner)s, ts, ts, 1, r + 1, has_splits, has_tags
  FROM priced
  RETURNING id, amount, transfer_id, has_splits, has_tags, created_at,
    CASE WHEN currency = 'JPY' THEN 0 ELSE 2 END AS places
), transfers AS (
  INSERT INTO "{transfer}" (id, organization_id, rate, version, created_at)
  SELECT transfer_id, %(org)s, round(max(amount) / -min(amount), 10), 1, min(created_at)
  FROM ins WHERE transfer_id IS NOT NULL GROUP BY transfer_id
  RETURNING 1
), splits AS (
  INSERT INTO "{split}" (transaction_id, category_id, amount, memo, position)
  SELECT id, (%(leaves)s::bigint[])[
      1 + (floor(u * cardinality(%(leaves)s::bigint[]))::int + pos)
      %% cardinality(%(leaves)s::bigint[])],
    CASE WHEN pos = parts - 1 THEN amount - coalesce(sum(share) OVER w, 0) ELSE share END,
    'Part ' || (pos + 1), pos
  FROM (
    SELECT id, amount, pos, parts, u,
      round(amount * (0.2 + 0.15 * ((u * (pos + 3)) - floor(u * (pos + 3))))::numeric,
            places) AS share
    FROM (SELECT id, amount, places,
            (hashint8extended(id - %(first_id)s, %(salt)s + 40) & 4503599627370495)::float8
              / 4503599627370496.0 AS u
          FROM ins WHERE has_splits) AS t
    CROSS JOIN LATERAL (SELECT 2 + (u < 0.4)::int AS parts) AS n
    CROSS JOIN LATERAL generate_series(0, parts - 1) AS pos
  ) AS lines
  WINDOW w AS (PARTITION BY id ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  RETURNING 1
), links AS (
  INSERT INTO "{link}" (transaction_id, tag_id)
  SELECT id, (%(tags)s::bigint[])[
      1 + (floor(u * cardinality(%(tags)s::bigint[]))::int + k)
      %% cardinality(%(tags)s::bigint[])]
  FROM (SELECT id, (hashint8extended(id - %(first_id)s, %(salt)s + 41) & 4503599627370495)::float8
                / 4503599627370496.0 AS u
        FROM ins WHERE has_tags) AS t
  CROSS JOIN LATERAL generate_series(0, (u < 0.35)::int) AS k
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM transfers),
  (SELECT count(*) FROM splits), (SELECT count(*) FROM links)
"""  # noqa: S608 - table names from the models, literals from PATTERNS, values as parameters


def generate(plan: OrgPlan) -> OrgResult:
    """Write one organisation's rows on this thread's connection (the caller's transaction)."""
    if plan.count == 0:
        return OrgResult(0, 0, 0, 0, 0)
    with connection.cursor() as cur:
        # The planner cannot size generate_series: its huge estimates would switch on
        # JIT compilation, which costs more than the statement itself.
        cur.execute("SET LOCAL jit = off")
        # The inserted rows' RETURNING list (read again for transfers, splits and tag links)
        # stays in memory instead of spilling to a temporary file.
        cur.execute("SET LOCAL work_mem = '32MB'")
        cur.execute(_statement(plan), _params(plan))
        transactions, transfers, splits, links = cur.fetchone()
    return OrgResult(transactions, transfers, splits, links, plan.count)
