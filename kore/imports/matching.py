"""Counterparties and matching: one place that says whether two ledger rows are the same payment.

``counterparty_normalise`` reduces a bank's or a person's spelling of a payee to its words
("SQ *BLUE BOTTLE COFFEE #123 OAKLAND CA" → "blue bottle coffee oakland");
``counterparties_similar`` compares two of them; ``counterparty_known`` finds the known
spelling that a longer one only extends by a trailing city or branch; ``hand_matches`` pairs
imported rows with transactions entered by hand (same account and amount, dated within the
organisation's ``import_match_days``, similar counterparty). Payees (kore.payees), rules and
suggestions reuse the normaliser and the matcher.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from difflib import SequenceMatcher
from typing import TypeVar

# Card processors and wallets that prefix the merchant: "SQ *", "PAYPAL *", "SUMUP *"…
_PROCESSOR = re.compile(
    r"^\s*(?:sq|square|paypal|pp|sumup|sp|tst|iz|izettle|zettle|stripe|amzn mktp|amazon mktplace"
    r"|google|apple pay|gpay|ec|pos|visa|mc|debit card purchase|card purchase|purchase)\s*\*\s*",
)
# Words banks add around the merchant: card and terminal markers, dates, ids.
_NOISE_WORDS = frozenset(
    ("pos", "ec", "visa", "debit", "credit", "card", "purchase", "kartenzahlung", "lastschrift",
     "sepa", "payment", "contactless", "nfc", "online", "www", "com")
)  # fmt: skip
_PUNCT = re.compile(r"[^\w\s]+")
_HAS_DIGIT = re.compile(r"\d")
SIMILAR_RATIO = 0.8


def counterparty_normalise(text: str) -> str:
    """Lower case, no accents' width tricks, no processor prefix, punctuation, ids, numbers, or
    trailing two-letter region codes ("… OAKLAND CA")."""
    value = unicodedata.normalize("NFKC", text).casefold().strip()
    while (stripped := _PROCESSOR.sub("", value)) != value:
        value = stripped
    words = [
        word for word in _PUNCT.sub(" ", value).split()
        if not _HAS_DIGIT.search(word) and word not in _NOISE_WORDS
    ]  # fmt: skip
    while len(words) > 1 and len(words[-1]) <= 2:
        words.pop()  # a region or country code ("ca", "de"), or a stray letter
    return " ".join(words)


def counterparties_similar(a: str, b: str) -> bool:
    """Whether two spellings name one payee: after normalising, one is the start of the other
    (a trailing city or branch), or they are nearly the same. An empty side says nothing
    against a match (a hand-entered row often has no payee)."""
    left, right = counterparty_normalise(a), counterparty_normalise(b)
    if not left or not right:
        return True
    short, long = sorted((left.split(), right.split()), key=len)
    if long[: len(short)] == short:
        return True
    return SequenceMatcher(None, left, right).ratio() >= SIMILAR_RATIO


T = TypeVar("T")


def counterparty_known(normal: str, known: Mapping[str, T]) -> T | None:
    """What ``known`` (normalised spellings) holds for ``normal``: the spelling itself, else the
    longest known one it extends by a trailing city or branch ("blue bottle coffee oakland" →
    "blue bottle coffee"). A one-word spelling is extended by one word at most, so "cafe" does
    not swallow "cafe de flore"; None when nothing fits."""
    if normal in known:
        return known[normal]
    words = normal.split()
    for size in range(len(words) - 1, 0, -1):
        if size == 1 and len(words) > 2:  # a lone word: itself plus one more at most
            break
        found = known.get(" ".join(words[:size]))
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Incoming:
    """An imported row looking for a transaction entered by hand."""

    line: int
    occurred_on: date
    amount: Decimal
    counterparty: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A live transaction entered by hand in the same account."""

    id: int
    occurred_on: date
    amount: Decimal
    counterparty: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The candidates that fit an incoming row; ``linked`` is the one it is linked to, if any."""

    line: int
    candidates: tuple[int, ...]
    linked: int | None


def hand_matches(
    incoming: Iterable[Incoming], candidates: Sequence[Candidate], *, days: int
) -> list[MatchResult]:
    """For each incoming row with at least one candidate: the candidates that fit. A row is
    linked only when exactly one candidate fits it and no other row of the same batch wants
    that candidate; otherwise its candidates are for the user to choose."""
    window = timedelta(days=days)
    by_amount: dict[Decimal, list[Candidate]] = {}
    for candidate in candidates:
        by_amount.setdefault(candidate.amount, []).append(candidate)
    found: list[tuple[int, tuple[int, ...]]] = []
    wanted: dict[int, int] = {}
    for row in incoming:
        fits = tuple(
            c.id for c in by_amount.get(row.amount, ())
            if abs(c.occurred_on - row.occurred_on) <= window
            and counterparties_similar(c.counterparty, row.counterparty)
        )  # fmt: skip
        if fits:
            found.append((row.line, fits))
            for pk in fits:
                wanted[pk] = wanted.get(pk, 0) + 1
    return [
        MatchResult(line, fits, fits[0] if len(fits) == 1 and wanted[fits[0]] == 1 else None)
        for line, fits in found
    ]
