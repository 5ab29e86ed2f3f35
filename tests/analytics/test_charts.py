"""Chart geometry: bar heights are proportional to cost, stacks add up, the axis covers the tallest bar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal.analytics.charts import stacked_cost_chart
from portal.analytics.queries import SeriesPoint


def test_stacked_bars_are_proportional():
    points = [SeriesPoint(dt.date(2026, 11, 1), {"a": Decimal("3"), "b": Decimal("1")}),
              SeriesPoint(dt.date(2026, 11, 2), {"a": Decimal("1")}),
              SeriesPoint(dt.date(2026, 11, 3), {})]
    chart = stacked_cost_chart(points, ["a", "b"], {"a": "A", "b": "B"}, "day", width=400, height=200)
    plot_height = chart.plot_bottom - 12
    assert len(chart.bars) == 3
    day1 = [b for b in chart.bars if b.label.startswith("2026-11-01")]
    # The axis tops out at 5 (the next 1-2-5 step above 4): 3/5 and 1/5 of the plot.
    assert [round(b.height, 1) for b in day1] == [round(plot_height * 3 / 5, 1), round(plot_height * 1 / 5, 1)]
    assert day1[1].y + day1[1].height == day1[0].y  # b sits on top of a
    assert chart.y_ticks[-1].label == "$5"
    assert [b.slug for b in chart.bars] == ["a", "b", "a"]


def test_more_providers_than_colours_share_other():
    costs = {f"p{i}": Decimal(10 - i) for i in range(9)}
    chart = stacked_cost_chart([SeriesPoint(dt.date(2026, 11, 1), costs)], list(costs), {}, "day")
    assert chart.legend[-1][1] == "Other" and len(chart.legend) == 8
    other = [b for b in chart.bars if b.slug is None]
    assert len(other) == 1 and "$5.0000" in other[0].label  # p7 ($3) + p8 ($2)
