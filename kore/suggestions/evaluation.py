"""Hard data to measure suggestions on, and the measurement ``make bench`` prints.

The demo seeding ties each payee to one category, which makes any method look perfect. Here a
payee spreads over several categories (a supermarket sells groceries and household goods, an
online shop books, electronics and gifts), payees are misspelt, new payees appear over time,
bank noise surrounds the names, and the split is by time: learn from the older rows, suggest
for the newer ones.
"""

import random
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .engine import Centroid, Classifier, Example, NaiveBayes, PayeeMajority, Text, loads

# category → (typical amount, money in?, words new payees of the category are named with)
CATEGORIES: dict[str, tuple[float, bool, tuple[str, ...]]] = {
    "Groceries": (45, False, ("market", "foods", "grocer", "fresh", "organic")),
    "Household": (25, False, ("home", "store", "depot", "supplies")),
    "Restaurants": (38, False, ("pizza", "grill", "bistro", "sushi", "kitchen", "trattoria")),
    "Coffee": (5, False, ("coffee", "espresso", "roasters", "cafe", "beans")),
    "Fuel": (60, False, ("fuel", "petrol", "gas", "energy station")),
    "Transit": (3, False, ("transit", "metro", "rail", "bus")),
    "Taxi": (18, False, ("taxi", "cab", "rides")),
    "Rent": (1200, False, ("properties", "estates", "housing")),
    "Utilities": (90, False, ("power", "water", "electric", "utility")),
    "Phone": (30, False, ("mobile", "telecom", "wireless")),
    "Internet": (45, False, ("broadband", "fiber", "net")),
    "Insurance": (70, False, ("insurance", "assurance", "mutual")),
    "Health": (60, False, ("clinic", "dental", "medical", "physio")),
    "Pharmacy": (15, False, ("pharmacy", "chemist", "apotheke")),
    "Clothing": (55, False, ("apparel", "fashion", "boutique", "shoes")),
    "Electronics": (220, False, ("electronics", "tech", "computers")),
    "Books": (16, False, ("books", "bookshop", "press")),
    "Subscriptions": (12, False, ("streaming", "music", "plus", "premium")),
    "Travel": (320, False, ("airlines", "air", "travel", "tours")),
    "Hotels": (140, False, ("hotel", "inn", "suites", "hostel")),
    "Gifts": (40, False, ("gifts", "florist", "flowers")),
    "Charity": (25, False, ("foundation", "relief", "charity")),
    "Fees": (4, False, ("bank fee", "charges")),
    "Salary": (3200, True, ("payroll", "salary", "gmbh wages")),
    "Refunds": (35, True, ("refund", "return", "reversal")),
    "Interest": (6, True, ("interest", "savings credit")),
}
_NAMES = ("acme", "blue", "north", "sun", "river", "green", "city", "golden", "star", "oak",
          "bright", "metro", "royal", "urban", "alpha", "nova", "maple", "harbor", "silver",
          "peak", "lotus", "cedar", "delta", "echo", "iron", "luna", "orbit", "pine", "quartz",
          "summit")  # fmt: skip
_CITIES = ("BERLIN", "OAKLAND CA", "LONDON", "PARIS", "MUNICH DE", "AUSTIN TX", "")
_PREFIXES = ("", "", "", "SQ *", "PAYPAL *", "CARD PURCHASE ", "POS ", "VISA ")


@dataclass(frozen=True, slots=True)
class Payee:
    name: str
    mix: tuple[tuple[str, float], ...]  # categories and their shares
    # Words of the description that give a category away on a mixed payee.
    hints: dict[str, str]


@dataclass(frozen=True, slots=True)
class Labelled:
    occurred_on: date
    text: Text
    category: str


def _mixed_payees() -> list[Payee]:
    """Well-known payees that sell more than one thing."""
    return [
        Payee(
            "Amazon",
            (("Books", 0.3), ("Electronics", 0.3), ("Household", 0.25), ("Gifts", 0.15)),
            {
                "Books": "kindle books order",
                "Electronics": "marketplace electronics",
                "Household": "order household",
                "Gifts": "order gift wrap",
            },
        ),
        Payee(
            "Walmart",
            (("Groceries", 0.6), ("Household", 0.25), ("Pharmacy", 0.15)),
            {"Pharmacy": "pharmacy rx"},
        ),
        Payee("Tesco", (("Groceries", 0.8), ("Fuel", 0.2)), {"Fuel": "petrol filling station"}),
        Payee("Shell", (("Fuel", 0.85), ("Coffee", 0.15)), {}),
        Payee("PayPal", (("Gifts", 0.3), ("Clothing", 0.3), ("Charity", 0.2), ("Books", 0.2)), {}),
        Payee(
            "Apple",
            (("Subscriptions", 0.6), ("Electronics", 0.4)),
            {"Subscriptions": "apple.com/bill icloud", "Electronics": "apple store"},
        ),
        Payee("Uber", (("Taxi", 0.7), ("Restaurants", 0.3)), {"Restaurants": "uber eats"}),
        Payee("Booking.com", (("Hotels", 0.7), ("Travel", 0.3)), {}),
        Payee("CVS", (("Pharmacy", 0.6), ("Health", 0.2), ("Household", 0.2)), {}),
        Payee("IKEA", (("Household", 0.8), ("Restaurants", 0.2)), {"Restaurants": "restaurant"}),
        Payee(
            "Costco",
            (("Groceries", 0.6), ("Fuel", 0.2), ("Electronics", 0.2)),
            {"Fuel": "gas station"},
        ),
        Payee("Transferwise", (("Rent", 0.4), ("Gifts", 0.3), ("Refunds", 0.3)), {}),
    ]


def _new_payee(rng: random.Random, category: str, taken: set[str]) -> Payee:
    words = CATEGORIES[category][2]
    while True:
        name = f"{rng.choice(_NAMES).title()} {rng.choice(words).title()}"
        if rng.random() < 0.3:
            name = f"{rng.choice(_NAMES).title()} {name}"
        if name not in taken:
            taken.add(name)
            return Payee(name, ((category, 1.0),), {})


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return name[:i] + name[i + 1 :]  # a letter dropped
    if kind == 1:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]  # two swapped
    return name[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + name[i:]


def rows_generate(count: int, *, seed: int = 7, days: int = 540) -> list[Labelled]:
    """``count`` rows over ``days`` days, oldest first (see the module's docstring)."""
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
    taken: set[str] = set()
    payees = _mixed_payees()
    categories = list(CATEGORIES)
    # Some single-category payees from the start; more appear month after month.
    for category in categories:
        for _ in range(rng.randint(2, 5)):
            payees.append(_new_payee(rng, category, taken))
    start = date(2025, 1, 1)
    rows: list[Labelled] = []
    per_day = count / days
    for day in range(days):
        if rng.random() < 0.15:  # a new payee, most days a week
            payees.append(_new_payee(rng, rng.choice(categories), taken))
        n = int(per_day) + (1 if rng.random() < per_day - int(per_day) else 0)
        for _ in range(n):
            # Recent payees are used more: new ones matter.
            payee = payees[min(len(payees) - 1, int(len(payees) * (1 - rng.random() ** 2)))]
            rows.append(_row(rng, payee, start + timedelta(days=day)))
    return rows[:count]


def _row(rng: random.Random, payee: Payee, on: date) -> Labelled:
    names, shares = zip(*payee.mix, strict=True)
    category = rng.choices(names, shares)[0]
    typical, income, _ = CATEGORIES[category]
    amount = Decimal(str(round(typical * rng.lognormvariate(0, 0.5), 2)))
    if not income:
        amount = -amount
    name = _typo(rng, payee.name) if rng.random() < 0.1 else payee.name
    name = f"{rng.choice(_PREFIXES)}{name.upper() if rng.random() < 0.5 else name}"
    name = f"{name} {rng.choice(_CITIES)} {rng.randint(100, 99999) if rng.random() < 0.3 else ''}"
    hint = payee.hints.get(category, "") if rng.random() < 0.6 else ""
    description = f"{hint} {rng.choice(('', 'ref', 'card 4411', 'txn'))} {rng.randint(1, 9999)}"
    if rng.random() < 0.15:  # no counterparty: the bank put everything in the description
        name, description = "", f"{name} {description}"
    return Labelled(on, Text(name.strip(), description.strip(), amount), category)


@dataclass
class Result:
    method: str
    top1: float
    top3: float
    new_payee_top1: float
    sure_share: float  # rows suggested with a confidence ≥ SURE
    sure_precision: float  # how often those were right
    train_s_per_100k: float
    suggest_ms: float
    memory_mb: float


SURE = 0.9


def evaluate(
    name: str,
    train: Callable[[list[Example]], Classifier],
    rows: Sequence[Labelled],
    *,
    split: float = 0.75,
    measure_memory: bool = True,
) -> Result:
    """Train on the oldest ``split`` of ``rows``, suggest for the rest."""
    ids = {c: i for i, c in enumerate(CATEGORIES)}
    cut = int(len(rows) * split)
    older, newer = rows[:cut], rows[cut:]
    examples = [Example(r.text, ids[r.category]) for r in older]
    began = time.perf_counter()
    model = train(examples)
    trained = time.perf_counter() - began
    memory = _retained_mb(lambda: loads(model.dumps())) if measure_memory else 0.0
    seen = {_payee_key(r.text) for r in older}
    top1 = top3 = new = new_right = sure = sure_right = 0
    began = time.perf_counter()
    for row in newer:
        got = model.suggest(row.text)
        want = ids[row.category]
        right = bool(got) and got[0].category_id == want
        top1 += right
        top3 += any(s.category_id == want for s in got)
        if _payee_key(row.text) not in seen:
            new += 1
            new_right += right
        if got and got[0].confidence >= SURE:
            sure += 1
            sure_right += right
    per = (time.perf_counter() - began) / max(len(newer), 1)
    n = max(len(newer), 1)
    return Result(name, top1 / n, top3 / n, new_right / max(new, 1), sure / n,
                  sure_right / max(sure, 1), trained * 100_000 / max(len(older), 1), per * 1000,
                  memory)  # fmt: skip


def _retained_mb(build: Callable[[], Any]) -> float:
    """Memory the model ``build`` returns keeps (a process loading a stored model)."""
    tracemalloc.start()
    try:
        model = build()
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del model
    return retained / 1e6


def _payee_key(text: Text) -> str:
    from kore.imports.matching import counterparty_normalise

    return counterparty_normalise(text.counterparty or text.description)


TRAINERS: dict[str, Callable[[list[Example]], Any]] = {
    "payee_majority": PayeeMajority.train,
    "naive_bayes": NaiveBayes.train,
    "centroid": Centroid.train,
}


def table(results: Sequence[Result]) -> str:
    head = (f"{'method':<16} {'top-1':>6} {'top-3':>6} {'new payee top-1':>16} "
            f"{'conf≥0.9 rows':>13} {'conf≥0.9 right':>14} {'train s/100k':>12} "
            f"{'ms/suggestion':>13} {'model MB':>8}")  # fmt: skip
    lines = [head]
    for r in results:
        lines.append(
            f"{r.method:<16} {r.top1:>6.1%} {r.top3:>6.1%} {r.new_payee_top1:>16.1%} "
            f"{r.sure_share:>13.1%} {r.sure_precision:>14.1%} {r.train_s_per_100k:>12.1f} "
            f"{r.suggest_ms:>13.3f} {r.memory_mb:>8.1f}"
        )
    return "\n".join(lines)
