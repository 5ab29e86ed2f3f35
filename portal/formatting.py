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


def percent(rate: Decimal | None, places: int = 1) -> str:
    """A 0..1 rate as a percentage."""
    if rate is None:
        return "—"
    quantum = Decimal(1).scaleb(-places)
    return f"{(Decimal(rate) * 100).quantize(quantum, rounding=ROUND_HALF_UP)}%"


def change(current: Decimal | int | None, previous: Decimal | int | None) -> tuple[str, str] | None:
    """Relative change and its direction ("up"/"down"/"flat"), or None when there is no base."""
    if current is None or previous is None or Decimal(previous) == 0:
        return None
    delta = (Decimal(current) - Decimal(previous)) / Decimal(previous)
    direction = "flat" if abs(delta) < Decimal("0.005") else ("up" if delta > 0 else "down")
    sign = "+" if delta > 0 else ""
    return f"{sign}{(delta * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%", direction


def register_filters(app: Flask) -> None:
    """Make the filters available to templates."""
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.globals["change"] = change
    app.jinja_env.filters["combine_args"] = combine_args


def combine_args(args: dict, **more) -> dict:
    """A copy of URL arguments with some replaced (for sort and paging links)."""
    return {**args, **{k: v for k, v in more.items() if v is not None}}
