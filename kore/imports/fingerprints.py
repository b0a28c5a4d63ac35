"""Duplicate detection: a row's fingerprint, and the occurrence index that tells genuinely
repeated rows (two identical coffees on one day) apart from a re-imported one."""

import hashlib
import unicodedata

from .readers import Row


def description_normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _key(account_id: int, row: Row) -> str:
    amount = format(row.amount.normalize(), "f")  # 12.50 and 12.5 are one amount
    return "\x1f".join(
        (str(account_id), row.occurred_on.isoformat(), amount,
         description_normalise(row.description), row.reference.strip())
    )  # fmt: skip


class Fingerprinter:
    """Fingerprints in file order; the n-th identical row of a file gets occurrence n.

    Memory: one small int pair per distinct row (about 100 bytes), never the rows themselves.
    """

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        self.seen: dict[int, int] = {}

    def __call__(self, row: Row) -> tuple[str, int]:
        key = _key(self.account_id, row)
        short = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
        occurrence = self.seen.get(short, 0)
        self.seen[short] = occurrence + 1
        return fingerprint(key, occurrence), occurrence


def fingerprint(key: str, occurrence: int) -> str:
    return hashlib.sha256(f"{key}\x1f{occurrence}".encode()).hexdigest()


def row_key(account_id: int, row: Row) -> str:
    return _key(account_id, row)
