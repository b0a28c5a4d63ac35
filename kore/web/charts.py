"""Server-rendered SVG bar charts: geometry computed here, drawn by a template (no script)."""

from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM = 640, 240, 8, 24
KIND_NAMES = {"in": "money in", "out": "money out", "cat": "spent"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Decimal
    kind: str  # css class: "in", "out" or "cat"


@dataclass(frozen=True)
class Label:
    x: float
    text: str


def bars(series: list[tuple[str, Decimal, str]]) -> dict[str, object]:
    """One bar per (label, value, kind); negative values hang below a zero line."""
    return grouped_bars([(label, [(value, kind)]) for label, value, kind in series])


def grouped_bars(groups: list[tuple[str, list[tuple[Decimal, str]]]]) -> dict[str, object]:
    """Bars side by side per group (a month's money in and out), its label written once below."""
    values = [v for _, members in groups for v, _ in members]
    if not values:
        return {"bars": [], "labels": [], "width": WIDTH, "height": HEIGHT,
                "zero": HEIGHT - PAD_BOTTOM}  # fmt: skip
    top = max([*values, Decimal(0)])
    bottom = min([*values, Decimal(0)])
    span = (top - bottom) or Decimal(1)
    plot = HEIGHT - PAD_BOTTOM - 8
    zero = 8 + float(top / span) * plot
    slot = (WIDTH - PAD_LEFT) / len(groups)
    out, labels = [], []
    for i, (label, members) in enumerate(groups):
        width = min(slot * 0.7 / len(members), 56.0)  # a few bars stay bars, not walls
        left = PAD_LEFT + i * slot + (slot - width * len(members)) / 2
        for j, (value, kind) in enumerate(members):
            h = float(abs(value) / span) * plot
            y = zero - h if value >= 0 else zero
            name = f"{label}, {KIND_NAMES[kind]}" if len(members) > 1 else label
            out.append(Bar(left + j * width, y, width, max(h, 0.5), name, value, kind))
        labels.append(Label(left, label))
    return {"bars": out, "labels": labels if len(groups) <= 14 else [], "width": WIDTH,
            "height": HEIGHT, "zero": zero, "label_y": HEIGHT - 6}  # fmt: skip
