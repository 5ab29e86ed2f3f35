"""The dashboard as JSON for widgets: the same numbers the page shows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from portal.analytics.queries import WORK_LABELS, Dashboard, Totals
from portal.usage.filters import iso_utc
from portal.usage.queries import decimal_text


def rate(value: Decimal | None) -> str | None:
    """A rate (0..1) as a decimal string with six places."""
    return None if value is None else str(value.quantize(Decimal("0.000001")))


def _totals(t: Totals) -> dict[str, Any]:
    return {"calls": t.calls, "tokens": t.tokens, "cost": decimal_text(t.cost), "failures": t.failures,
            "error_rate": rate(t.error_rate)}


def dashboard_as_json(board: Dashboard) -> dict[str, Any]:
    """Serialise every figure; money and rates as exact decimal strings."""
    rng = board.range
    return {
        "range": {"preset": rng.preset, "label": rng.label, "start": iso_utc(rng.start), "end": iso_utc(rng.end),
                  "time_zone": rng.zone, "bucket": rng.bucket},
        "summary": {"current": _totals(board.totals), "previous": _totals(board.previous),
                    "previous_range": {"start": iso_utc(rng.previous.start), "end": iso_utc(rng.previous.end)}},
        "providers": [
            {"actual_provider": r.slug, "display_name": r.display, "calls": r.calls, "tokens": r.tokens,
             "cost": decimal_text(r.cost), "failures": r.failures, "share": rate(r.share)}
            for r in board.breakdown.rows
        ],
        "providers_total": _totals(board.breakdown.total),
        "series": [
            {"start": p.start.isoformat(), "total": decimal_text(p.total),
             "costs": {slug or "unattributed": decimal_text(c) for slug, c in sorted(p.costs.items(), key=lambda kv: str(kv[0]))}}
            for p in board.series
        ],
        "performance": [
            {"actual_provider": p.slug, "display_name": p.display, "calls": p.calls, "successes": p.successes,
             "success_rate": rate(p.success_rate), "p50_response_time": p.p50, "p95_response_time": p.p95,
             "retries": p.retries}
            for p in board.performance
        ],
        "comparison": [
            {"work": kind, "label": WORK_LABELS.get(kind, kind), "providers": [
                {"actual_provider": w.slug, "display_name": w.display, "calls": w.calls, "cost": decimal_text(w.cost),
                 "cost_per_call": decimal_text(w.cost_per_call.quantize(Decimal("0.00000001"))) if w.cost_per_call is not None else None,
                 "cost_per_1k_tokens": decimal_text(w.cost_per_1k_tokens.quantize(Decimal("0.00000001"))) if w.cost_per_1k_tokens is not None else None,
                 "success_rate": rate(w.success_rate), "categories": list(w.categories)}
                for w in rows]}
            for kind, rows in board.comparison.items()
        ],
        "recommendations": [{"kind": r.kind, "text": r.text, "numbers": r.numbers} for r in board.recommendations],
        "plan": {"billing_period": board.period, "categories": [
            {"category": p.category, "calls": p.calls, "limit": p.limit,
             "percent": str(p.percent) if p.percent is not None else None} for p in board.plan]},
    }
