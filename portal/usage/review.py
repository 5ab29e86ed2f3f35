"""What the catalogue does not yet know: combinations decided by category alone, or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from portal.extensions import db
from portal.models import APIUsageLog
from portal.providers import Attribution, Detector


@dataclass(frozen=True)
class Combination:
    """One (category, model, endpoint) seen in the logs, with its weight and attribution."""

    category: str
    model: str | None
    endpoint: str | None
    rows: int
    cost: Decimal
    attribution: Attribution


def unattributed_combinations(detector: Detector, limit: int = 500) -> list[Combination]:
    """Triples whose attribution is a category guess or nothing, costliest first."""
    t = APIUsageLog
    grouped = db.session.execute(
        sa.select(t.provider, t.model_used, t.endpoint, sa.func.count(), sa.func.coalesce(sa.func.sum(t.cost_total), 0))
        .group_by(t.provider, t.model_used, t.endpoint)
    )
    combos = []
    for provider, model, endpoint, rows, cost in grouped:
        attribution = detector.explain(provider, model, endpoint)
        if attribution.evidence in (None, "category"):
            combos.append(Combination(provider.value, model, endpoint, rows, Decimal(cost), attribution))
    combos.sort(key=lambda c: (c.cost, c.rows), reverse=True)
    return combos[:limit]
