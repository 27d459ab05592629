"""Charts as plain SVG numbers computed here: the template draws rectangles and a polyline,
so a chart needs no script and every bar has its figure beside it as text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 640, 200, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    line: str  # "x,y x,y ...": the running total, scaled to the same height
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(points: Sequence[tuple[str, int, str]]) -> Chart | None:
    """(label, amount, amount as text) per bar, in time order; with the running total."""
    if not points:
        return None
    total = sum(max(0, p[1]) for p in points) or 1
    peak = max(max(0, p[1]) for p in points) or 1
    step = (WIDTH - 2 * PAD) / len(points)
    usable = HEIGHT - 2 * PAD
    bars, line, running = [], [], 0
    for n, (label, value, text) in enumerate(points):
        value = max(0, value)
        running += value
        height = usable * value / peak
        x = PAD + n * step
        bars.append(Bar(round(x + step * 0.1, 1), round(HEIGHT - PAD - height, 1),
                        round(step * 0.8, 1), round(height, 1), label, text))  # fmt: skip
        line.append(f"{x + step / 2:.1f},{HEIGHT - PAD - usable * running / total:.1f}")
    return Chart(tuple(bars), " ".join(line))
