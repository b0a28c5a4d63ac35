"""Category suggestions learned from one organisation's categorised rows: pure Python, no
dependency beyond the counterparty normaliser.

A row becomes a bag of hashed features: its normalised payee (whole, and word by word), the
words and character 3-grams of its normalised payee and description, and the sign and size of
its amount (a power-of-two bucket). Two classifiers read the same features:

* ``Centroid`` (the default, chosen by ``make bench``: the better top-1 and top-3, and by far
  the better on payees never seen before): nearest centroid, cosine between the row's TF-IDF
  vector and each category's mean; the confidence is a softmax over the cosines.
* ``NaiveBayes``: multinomial naive Bayes with Laplace smoothing; the confidence is the
  posterior of a tempered score (a row's many n-grams are far from independent, so the raw
  posterior would be near 1 for almost every row).

Models are counts, kept as JSON (``dumps``/``loads``) so any process can load what the worker
trained; features are hashed with CRC-32 (stable across processes, unlike ``hash``).
"""

import json
import math
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from kore.imports.matching import counterparty_normalise

FEATURE_BITS = 20
_MASK = (1 << FEATURE_BITS) - 1
PAYEE_WEIGHT = 3  # the whole payee counts as this many n-grams
TOP = 3


@dataclass(frozen=True, slots=True)
class Text:
    """What a classifier reads of a row."""

    counterparty: str
    description: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Example:
    """A categorised row to learn from."""

    text: Text
    category_id: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    category_id: int
    confidence: float


def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode()) & _MASK


def reading(text: Text) -> tuple[str, str, str, int]:
    """All a classifier reads of a row: its normalised payee and description, the amount's sign
    and size. Rows that read the same get the same suggestions (an import asks once)."""
    sign = "-" if text.amount < 0 else "+"
    size = int(math.log2(abs(float(text.amount)) + 1))
    return (counterparty_normalise(text.counterparty), counterparty_normalise(text.description),
            sign, size)  # fmt: skip


def features(text: Text) -> dict[int, int]:
    """The row's hashed features and their weights."""
    return features_of(reading(text))


def features_of(read: tuple[str, str, str, int]) -> dict[int, int]:
    payee, words, sign, size = read
    found: Counter[int] = Counter()
    if payee:
        found[_hash("p=" + payee)] += PAYEE_WEIGHT
        for word in payee.split():
            found[_hash("pw=" + word)] += 1
    for word in words.split():
        found[_hash("w=" + word)] += 1
    joined = f" {payee} {words} " if payee else f" {words} "
    for gram in {joined[i : i + 3] for i in range(len(joined) - 2)}:
        if gram.strip():
            found[_hash("g=" + gram)] += 1
    found[_hash("s=" + sign)] += 1
    found[_hash(f"a={sign}{size}")] += 1
    return dict(found)


class Classifier(Protocol):
    method: str

    def suggest(self, text: Text, top: int = TOP) -> list[Suggestion]: ...

    def dumps(self) -> bytes: ...


def _softmax_top(scores: Sequence[float], categories: Sequence[int], top: int) -> list[Suggestion]:
    if not scores:
        return []
    peak = max(scores)
    exps = [math.exp(s - peak) for s in scores]
    total = sum(exps)
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:top]
    return [Suggestion(categories[i], exps[i] / total) for i in order]


class NaiveBayes:
    """Multinomial naive Bayes over hashed features (see the module's docstring)."""

    method = "naive_bayes"
    ALPHA = 0.1
    # Score = log prior + mean log-likelihood of the known features times TEMPER: measured on the
    # bench data so a 0.9 confidence is right about nine times in ten.
    TEMPER = 3.0

    def __init__(self, categories: list[int], rows: list[int], counts: dict[int, dict[int, float]],
                 ) -> None:  # fmt: skip
        self.categories = categories  # category ids, by index
        self.rows = rows  # training rows per category index
        self.counts = counts  # feature → {category index: weight}
        totals = [0.0] * len(categories)
        for per in counts.values():
            for index, weight in per.items():
                totals[index] += weight
        vocabulary = max(len(counts), 1)
        n = max(sum(rows), 1)
        self.prior = [math.log((r + 1) / (n + len(rows))) for r in rows]
        self.base = [-math.log(t + self.ALPHA * vocabulary) for t in totals]
        log_alpha = math.log(self.ALPHA)
        # Per feature, what each category that saw it gains over one that did not.
        self.gain = {
            f: [(i, math.log(w + self.ALPHA) - log_alpha) for i, w in per.items()]
            for f, per in counts.items()
        }
        self.unseen = [log_alpha + b for b in self.base]

    @classmethod
    def train(cls, examples: Iterable[Example]) -> "NaiveBayes":
        index: dict[int, int] = {}
        rows: list[int] = []
        counts: dict[int, dict[int, float]] = {}
        for example in examples:
            i = index.setdefault(example.category_id, len(index))
            if i == len(rows):
                rows.append(0)
            rows[i] += 1
            for f, weight in features(example.text).items():
                per = counts.setdefault(f, {})
                per[i] = per.get(i, 0) + weight
        return cls(list(index), rows, counts)

    def suggest(self, text: Text, top: int = TOP) -> list[Suggestion]:
        if not self.categories:
            return []
        known = [(f, w) for f, w in features(text).items() if f in self.gain]
        n = sum(w for _, w in known)
        loglik = [n * u for u in self.unseen]
        for f, w in known:
            for i, gain in self.gain[f]:
                loglik[i] += w * gain
        scale = self.TEMPER / n if n else 0.0
        scores = [p + ll * scale for p, ll in zip(self.prior, loglik, strict=True)]
        return _softmax_top(scores, self.categories, top)

    def dumps(self) -> bytes:
        body = {"method": self.method, "categories": self.categories, "rows": self.rows,
                "counts": {str(f): {str(i): w for i, w in per.items()}
                           for f, per in self.counts.items()}}  # fmt: skip
        return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "NaiveBayes":
        counts = {int(f): {int(i): float(w) for i, w in per.items()}
                  for f, per in body["counts"].items()}  # fmt: skip
        return cls(list(body["categories"]), list(body["rows"]), counts)


class Centroid:
    """Nearest centroid: cosine between the row's TF-IDF vector and each category's mean."""

    method = "centroid"
    # Softmax over cosines: measured on the bench data so a 0.9 confidence is right about 99 times
    # in 100.
    SHARPNESS = 30.0

    def __init__(self, categories: list[int], documents: int, df: dict[int, int],
                 sums: dict[int, dict[int, float]]) -> None:  # fmt: skip
        self.categories, self.documents, self.df, self.sums = categories, documents, df, sums
        # The weight of each feature a category has, computed once: suggesting only looks up.
        self.idf = {f: self._idf(f) for f in sums}
        norms = [0.0] * len(categories)
        for per in sums.values():
            for i, w in per.items():
                norms[i] += w * w
        self.norms = [math.sqrt(n) or 1.0 for n in norms]

    def _idf(self, f: int) -> float:
        return math.log((1 + self.documents) / (1 + self.df.get(f, 0))) + 1

    def _vector(self, text: Text) -> dict[int, float]:
        """The row's TF-IDF vector over the features the model knows, of length 1."""
        idf = self.idf
        vector = {f: w * idf[f] for f, w in features(text).items() if f in idf}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {f: v / norm for f, v in vector.items()}

    @classmethod
    def train(cls, examples: Iterable[Example]) -> "Centroid":
        rows = [(features(e.text), e.category_id) for e in examples]
        df: Counter[int] = Counter()
        for found, _ in rows:
            df.update(found.keys())
        model = cls([], len(rows), dict(df), {})
        index: dict[int, int] = {}
        for found, category in rows:
            i = index.setdefault(category, len(index))
            vector = {f: w * model._idf(f) for f, w in found.items()}
            norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
            for f, v in vector.items():
                per = model.sums.setdefault(f, {})
                per[i] = per.get(i, 0.0) + v / norm
        return cls(list(index), len(rows), dict(df), model.sums)

    def suggest(self, text: Text, top: int = TOP) -> list[Suggestion]:
        if not self.categories:
            return []
        dots = [0.0] * len(self.categories)
        for f, v in self._vector(text).items():
            for i, w in self.sums[f].items():
                dots[i] += v * w
        scores = [self.SHARPNESS * d / n for d, n in zip(dots, self.norms, strict=True)]
        return _softmax_top(scores, self.categories, top)

    def dumps(self) -> bytes:
        body = {"method": self.method, "categories": self.categories, "documents": self.documents,
                "df": {str(f): n for f, n in self.df.items()},
                "sums": {str(f): {str(i): w for i, w in per.items()}
                         for f, per in self.sums.items()}}  # fmt: skip
        return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "Centroid":
        sums = {int(f): {int(i): float(w) for i, w in per.items()}
                for f, per in body["sums"].items()}  # fmt: skip
        df = {int(f): int(n) for f, n in body["df"].items()}
        return cls(list(body["categories"]), int(body["documents"]), df, sums)


class PayeeMajority:
    """The baseline: the categories a payee's rows had most often, else the most common ones."""

    method = "payee_majority"

    def __init__(self, by_payee: dict[str, dict[int, int]], overall: dict[int, int]) -> None:
        self.by_payee, self.overall = by_payee, overall

    @classmethod
    def train(cls, examples: Iterable[Example]) -> "PayeeMajority":
        by_payee: dict[str, Counter[int]] = {}
        overall: Counter[int] = Counter()
        for e in examples:
            payee = counterparty_normalise(e.text.counterparty or e.text.description)
            by_payee.setdefault(payee, Counter())[e.category_id] += 1
            overall[e.category_id] += 1
        return cls({p: dict(c) for p, c in by_payee.items()}, dict(overall))

    def suggest(self, text: Text, top: int = TOP) -> list[Suggestion]:
        payee = counterparty_normalise(text.counterparty or text.description)
        counts = self.by_payee.get(payee) or self.overall
        total = sum(counts.values()) or 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [Suggestion(c, n / total) for c, n in ranked]

    def dumps(self) -> bytes:
        body = {"method": self.method, "by_payee": self.by_payee, "overall": self.overall}
        return zlib.compress(json.dumps(body).encode(), 6)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "PayeeMajority":
        by_payee = {p: {int(c): n for c, n in per.items()} for p, per in body["by_payee"].items()}
        return cls(by_payee, {int(c): n for c, n in body["overall"].items()})


class Method(Protocol):
    """A classifier class: trained from examples, or read back from its stored body."""

    def train(self, examples: Iterable[Example]) -> Classifier: ...

    def from_body(self, body: dict[str, Any]) -> Classifier: ...


METHODS: dict[str, Method] = {
    "naive_bayes": NaiveBayes, "centroid": Centroid, "payee_majority": PayeeMajority,
}  # fmt: skip
DEFAULT_METHOD = "centroid"


def train(method: str, examples: Iterable[Example]) -> Classifier:
    return METHODS[method].train(examples)


def loads(data: bytes) -> Classifier:
    body = json.loads(zlib.decompress(data))
    return METHODS[body["method"]].from_body(body)
