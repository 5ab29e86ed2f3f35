"""Jinja filters for money and durations (display only: stored values stay exact)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask import Flask

SMALLEST_SHOWN = Decimal("0.0001")


def money(value: Decimal | None) -> str:
    """USD with four decimals (per-call prices are often fractions of a cent)."""
    if value is None:
        return "—"
    value = Decimal(value)
    if value == 0:
        return "0.00"
    if 0 < value < SMALLEST_SHOWN:
        return "<0.0001"
    places = Decimal("0.01") if value >= 100 else SMALLEST_SHOWN
    return "{:,}".format(value.quantize(places, rounding=ROUND_HALF_UP))


def duration(seconds: float | None) -> str:
    """Response time as ms below a second, seconds below a minute, else minutes and seconds."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m {rest:02d}s"


def register_filters(app: Flask) -> None:
    """Make the filters available to templates."""
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["duration"] = duration
