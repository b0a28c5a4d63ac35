"""Server-rendered SVG bar charts: geometry computed here, drawn by a template (no script)."""

from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM = 640, 240, 8, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Decimal
    kind: str  # css class: "in", "out" or "cat"


def bars(series: list[tuple[str, Decimal, str]]) -> dict[str, object]:
    """Bars for (label, value, kind); negative values hang below a zero line."""
    if not series:
        return {"bars": [], "width": WIDTH, "height": HEIGHT, "zero": HEIGHT - PAD_BOTTOM}
    top = max([v for _, v, _ in series] + [Decimal(0)])
    bottom = min([v for _, v, _ in series] + [Decimal(0)])
    span = (top - bottom) or Decimal(1)
    plot = HEIGHT - PAD_BOTTOM - 8
    zero = 8 + float(top / span) * plot
    slot = (WIDTH - PAD_LEFT) / len(series)
    width = min(slot * 0.7, 56.0)  # a few bars stay bars, not walls
    out = []
    for i, (label, value, kind) in enumerate(series):
        h = float(abs(value) / span) * plot
        y = zero - h if value >= 0 else zero
        out.append(
            Bar(PAD_LEFT + i * slot + (slot - width) / 2, y, width, max(h, 0.5), label, value, kind)
        )
    return {"bars": out, "width": WIDTH, "height": HEIGHT, "zero": zero, "label_y": HEIGHT - 6}
