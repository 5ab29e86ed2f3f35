"""Geometry for server-side SVG charts (the templates only draw what this computes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portal.analytics.queries import SeriesPoint

PALETTE = ("#3b5bdb", "#f08c00", "#2f9e44", "#c2255c", "#7048e8", "#1098ad", "#e8590c", "#5c940d")
OTHER_COLOR = "#adb5bd"
MAX_SERIES = 7


@dataclass(frozen=True)
class Bar:
    """One stacked segment."""

    x: float
    y: float
    width: float
    height: float
    color: str
    label: str
    slug: str | None = None  # the provider, for a link to its logs
    day: dt.date | None = None  # the local day (or week) the bar stands for


@dataclass(frozen=True)
class Tick:
    """An axis label at a position."""

    pos: float
    label: str


@dataclass(frozen=True)
class StackedChart:
    """A stacked bar chart of cost over time."""

    width: int
    height: int
    plot_left: int
    plot_bottom: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (color, name)
    slugs: list[str | None]  # provider of each legend entry (None for "Other")


def series_colors(order: list[str | None]) -> dict[str | None, str]:
    """A stable colour per provider: the costliest get distinct colours, the rest share grey."""
    return {slug: PALETTE[i] for i, slug in enumerate(order[:MAX_SERIES])}


def _nice_max(value: Decimal) -> Decimal:
    """Round an axis maximum up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (1, 2, 5, 10):
        candidate = Decimal(step).scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)


def stacked_cost_chart(points: list[SeriesPoint], order: list[str | None], names: dict[str | None, str],
                       bucket: str, width: int = 860, height: int = 260) -> StackedChart:
    """Lay out bars for ``points``, stacking providers in ``order`` (costliest first)."""
    left, right, top, bottom = 64, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    colors = series_colors(order)
    top_value = _nice_max(max((p.total for p in points), default=Decimal(0)))
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.72, 1.0)
    bars: list[Bar] = []
    for i, point in enumerate(points):
        x = left + i * slot + (slot - bar_w) / 2
        y = float(top + plot_h)
        stacked: list[tuple[str | None, Decimal]] = [(s, point.costs.get(s, Decimal(0))) for s in order[:MAX_SERIES]]
        other = sum((c for s, c in point.costs.items() if s not in colors), Decimal(0))
        stacked.append(("__other__", other))
        for slug, cost in stacked:
            if cost <= 0:
                continue
            h = float(cost / top_value) * plot_h
            y -= h
            name = "Other" if slug == "__other__" else names.get(slug, "Unattributed")
            bars.append(Bar(round(x, 2), round(y, 2), round(bar_w, 2), round(h, 2), colors.get(slug, OTHER_COLOR),
                            f"{point.start.isoformat()} · {name}: ${cost.quantize(Decimal('0.0001'))}",
                            None if slug == "__other__" else slug, point.start))
    y_ticks = [Tick(round(top + plot_h - plot_h * k / 4, 2), f"${(top_value * k / 4).normalize():,f}") for k in range(5)]
    every = max(1, len(points) // 8)
    x_ticks = [Tick(round(left + i * slot + slot / 2, 2), p.start.strftime("%b %d") if bucket == "day" else p.start.strftime("wk %b %d"))
               for i, p in enumerate(points) if i % every == 0]
    legend = [(colors[s], names.get(s, "Unattributed")) for s in order[:MAX_SERIES]]
    if len(order) > MAX_SERIES:
        legend.append((OTHER_COLOR, "Other"))
    return StackedChart(width, height, left, top + plot_h, bars, y_ticks, x_ticks, legend, list(order[:MAX_SERIES]))
