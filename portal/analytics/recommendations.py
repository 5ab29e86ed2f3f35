"""Plain-language suggestions drawn from the user's own numbers.

A suggestion is made only when the data supports it: enough calls on both
sides, a large enough gap, and no trade-off hidden behind it (a cheaper
provider that fails more is not "cheaper"). Each carries the numbers behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from portal.analytics.queries import WORK_LABELS

if TYPE_CHECKING:
    from portal.analytics.queries import Dashboard

MIN_CALLS = 20                      # per provider, for any comparison
CHEAPER_RATIO = Decimal("1.5")      # "costs 1.5x more" is worth saying
SIMILAR_SUCCESS = Decimal("0.05")   # within 5 percentage points
UNRELIABLE_FAILURE_RATE = Decimal("0.10")
MAX_RECOMMENDATIONS = 6


@dataclass(frozen=True)
class Recommendation:
    """One suggestion, its evidence, and where to look."""

    kind: str                      # "cheaper-provider" | "unreliable-provider"
    text: str
    numbers: dict = field(default_factory=dict)
    slug: str | None = None


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('1'), ROUND_HALF_UP)}%"


def _exact(value: Decimal, places: int) -> str:
    """A figure for the JSON, rounded to ``places`` decimals."""
    return str(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.0001'), ROUND_HALF_UP)}"


def recommend(board: "Dashboard") -> list[Recommendation]:
    """Every suggestion the board's numbers support, strongest first."""
    found: list[tuple[Decimal, Recommendation]] = []
    span = board.range.label.lower() if board.range.preset != "custom" else board.range.label
    for kind, providers in board.comparison.items():
        candidates = [p for p in providers if p.slug and p.calls >= MIN_CALLS and p.cost_per_call]
        # Token-priced work (text) is compared per 1k tokens, per-call work per call.
        by_tokens = all(p.tokens for p in candidates)
        unit = "per 1k tokens" if by_tokens else "per call"

        def price(p):
            return p.cost_per_1k_tokens if by_tokens else p.cost_per_call

        if len(candidates) < 2:
            continue
        cheapest = min(candidates, key=price)
        for other in candidates:
            if other is cheapest:
                continue
            times = price(other) / price(cheapest)
            similar = other.success_rate - cheapest.success_rate <= SIMILAR_SUCCESS
            if times >= CHEAPER_RATIO and similar:
                savings = (other.cost_per_call - cheapest.cost_per_call) * other.calls if not by_tokens else \
                    (price(other) - price(cheapest)) * other.tokens / 1000
                text = (f"{WORK_LABELS.get(kind, kind.title())} via {other.display} costs "
                        f"{times.quantize(Decimal('0.1'), ROUND_HALF_UP)}x more {unit} than via {cheapest.display} "
                        f"({_money(price(other))} vs {_money(price(cheapest))}) with a similar success rate "
                        f"({_pct(other.success_rate)} vs {_pct(cheapest.success_rate)}) over {span}. "
                        f"Moving those {other.calls:,} calls would have saved about {_money(savings)}.")
                found.append((savings, Recommendation("cheaper-provider", text, {
                    "work": kind, "unit": unit, "expensive": other.slug, "cheap": cheapest.slug,
                    "ratio": _exact(times, 2), "expensive_price": _exact(price(other), 8), "cheap_price": _exact(price(cheapest), 8),
                    "expensive_success_rate": _exact(other.success_rate, 6), "cheap_success_rate": _exact(cheapest.success_rate, 6),
                    "expensive_calls": other.calls, "cheap_calls": cheapest.calls, "estimated_savings": _exact(savings, 8),
                }, other.slug)))
    for perf in board.performance:
        rate = perf.success_rate
        if perf.slug and perf.calls >= MIN_CALLS and rate is not None and 1 - rate >= UNRELIABLE_FAILURE_RATE:
            text = (f"{perf.display} failed {_pct(1 - rate)} of calls ({perf.failures:,} of {perf.calls:,}) over {span}, "
                    f"with {perf.retries:,} retries; check its errors or move traffic to a steadier provider.")
            found.append((Decimal(perf.failures), Recommendation("unreliable-provider", text, {
                "provider": perf.slug, "failures": perf.failures, "calls": perf.calls,
                "failure_rate": _exact(1 - rate, 6), "retries": perf.retries}, perf.slug)))
    found.sort(key=lambda pair: -pair[0])
    return [rec for _, rec in found][:MAX_RECOMMENDATIONS]
