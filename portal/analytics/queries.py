"""Aggregates behind the dashboard and the analytics JSON (one set of functions for both).

Money is summed by the database as exact decimals (``ExactMoney``), shares and
rates are computed from those exact sums, and the totals row is the exact sum
of the provider rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from portal.analytics.ranges import DateRange
from portal.analytics.sql import bucket_number, bucket_of_day, bucket_start
from portal.dbtypes import ExactMoney
from portal.extensions import db
from portal.models import APIUsageLog
from portal.providers import Detector
from portal.providers.categories import APIProvider

T = APIUsageLog
UNATTRIBUTED = None  # the group of rows with no actual provider

# The kind of work a category stands for, to compare providers doing the same job.
WORK_KINDS = {
    APIProvider.VIDEO: "video", APIProvider.AUDIO: "audio",
    APIProvider.STABILITY: "image", APIProvider.IMAGE_EDIT: "image",
    APIProvider.GEMINI: "text", APIProvider.OPENAI: "text", APIProvider.ANTHROPIC: "text", APIProvider.MISTRAL: "text",
    APIProvider.WAVESPEED: "media",
    APIProvider.TAVILY: "search", APIProvider.SERPER: "search", APIProvider.METAPHOR: "search", APIProvider.EXA: "search",
    APIProvider.FIRECRAWL: "scraping",
}
WORK_LABELS = {"video": "Video generation", "audio": "Audio generation", "image": "Image generation",
               "text": "Text generation", "media": "Media generation", "search": "Web search", "scraping": "Web scraping"}


def _money_sum(column):
    """SUM that stays exact and typed as money on both databases, 0 when empty."""
    return sa.type_coerce(sa.func.coalesce(sa.func.sum(column), 0), ExactMoney())


def _success():
    return sa.case((T.status_code.between(200, 299), 1), else_=0)


def _in_range(user_id: int, rng: DateRange) -> list:
    return [T.user_id == user_id, T.timestamp >= rng.start, T.timestamp < rng.end]


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part/whole as an exact Decimal, None when whole is 0."""
    return (Decimal(part) / Decimal(whole)) if whole else None


@dataclass(frozen=True)
class Cell:
    """Sums for one (bucket, category, actual provider) group of a range."""

    bucket: int
    category: APIProvider
    slug: str | None
    calls: int
    tokens: int
    cost: Decimal
    successes: int
    retries: int


def grouped_cells(user_id: int, rng: DateRange) -> list[Cell]:
    """One pass over the range's rows, grouped by bucket, category and actual provider.

    Every figure of the dashboard except percentiles, the previous range and
    plan usage is a sum over these cells, so the rows are read once.
    """
    number = bucket_number(T.timestamp, rng).label("bucket")
    result = db.session.execute(
        sa.select(number, T.provider, T.actual_provider_name, sa.func.count(),
                  sa.func.coalesce(sa.func.sum(T.tokens_total), 0), _money_sum(T.cost_total),
                  sa.func.coalesce(sa.func.sum(_success()), 0), sa.func.coalesce(sa.func.sum(T.retry_count), 0))
        .where(*_in_range(user_id, rng))
        .group_by(number, T.provider, T.actual_provider_name)
    ).all()
    return [Cell(int(b), c, slug, int(n), int(tok), Decimal(cost), int(ok), int(rt)) for b, c, slug, n, tok, cost, ok, rt in result]


@dataclass
class Sums:
    """Cells added up under one key."""

    calls: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    successes: int = 0
    retries: int = 0
    categories: set = field(default_factory=set)


def sum_cells(cells: list[Cell], key) -> dict:
    """Add the cells up per ``key(cell)`` (one pass; the shared step of every figure below)."""
    sums: dict = {}
    for c in cells:
        entry = sums.setdefault(key(c), Sums())
        entry.calls += c.calls
        entry.tokens += c.tokens
        entry.cost += c.cost
        entry.successes += c.successes
        entry.retries += c.retries
        entry.categories.add(c.category.value)
    return sums


def provider_name(detector: Detector, slug: str | None) -> str:
    """Display name of an actual provider; rows without one are 'Unattributed'."""
    return detector.display_name(slug) if slug else "Unattributed"


@dataclass(frozen=True)
class Totals:
    """Sums over a range."""

    calls: int
    tokens: int
    cost: Decimal
    failures: int

    @property
    def error_rate(self) -> Decimal | None:
        return ratio(self.failures, self.calls)


def totals_of(cells: list[Cell]) -> Totals:
    """Totals over cells."""
    total = sum_cells(cells, lambda c: None).get(None, Sums())
    return Totals(total.calls, total.tokens, total.cost, total.calls - total.successes)


def totals(user_id: int, rng: DateRange) -> Totals:
    """Calls, tokens, cost and failures in a range."""
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(T.tokens_total), 0), _money_sum(T.cost_total),
                  sa.func.coalesce(sa.func.sum(1 - _success()), 0))
        .where(*_in_range(user_id, rng))
    ).one()
    return Totals(int(row[0]), int(row[1]), Decimal(row[2]), int(row[3]))


@dataclass(frozen=True)
class ProviderCost:
    """One actual provider's share of the bill."""

    slug: str | None
    display: str
    calls: int
    tokens: int
    cost: Decimal
    failures: int
    share: Decimal | None  # of the total cost


@dataclass(frozen=True)
class CostBreakdown:
    """Cost by actual provider, with a totals row equal to the exact sum of the rows."""

    rows: list[ProviderCost]
    total: Totals


def cost_by_provider(cells: list[Cell], detector: Detector) -> CostBreakdown:
    """Per actual provider: calls, tokens, cost, failures, share; costliest first."""
    sums = sum_cells(cells, lambda c: c.slug)
    grand = sum((s.cost for s in sums.values()), Decimal(0))
    rows = [
        ProviderCost(slug, provider_name(detector, slug), s.calls, s.tokens, s.cost, s.calls - s.successes,
                     ratio(s.cost, grand))
        for slug, s in sums.items()
    ]
    rows.sort(key=lambda r: (-r.cost, -r.calls, r.display))
    total = Totals(sum(r.calls for r in rows), sum(r.tokens for r in rows), grand, sum(r.failures for r in rows))
    return CostBreakdown(rows, total)


@dataclass(frozen=True)
class SeriesPoint:
    """Cost per provider in one day or week (local to the range's zone)."""

    start: dt.date
    costs: dict[str | None, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.costs.values(), Decimal(0))


def cost_series(cells: list[Cell], rng: DateRange) -> list[SeriesPoint]:
    """Cost by bucket and provider, every bucket of the range present (zeros included)."""
    by_bucket: dict[int, dict[str | None, Decimal]] = {}
    for c in cells:
        costs = by_bucket.setdefault(c.bucket, {})
        costs[c.slug] = costs.get(c.slug, Decimal(0)) + c.cost
    first = bucket_of_day(rng.local_start.date(), rng.bucket)
    last = bucket_of_day(rng.last_day, rng.bucket)
    return [SeriesPoint(bucket_start(n, rng.bucket), by_bucket.get(n, {})) for n in range(first, last + 1)]


@dataclass(frozen=True)
class Performance:
    """How one provider behaved: reliability and latency."""

    slug: str | None
    display: str
    calls: int
    successes: int
    p50: float | None
    p95: float | None
    retries: int

    @property
    def success_rate(self) -> Decimal | None:
        return ratio(self.successes, self.calls)

    @property
    def failures(self) -> int:
        return self.calls - self.successes


def performance(cells: list[Cell], user_id: int, rng: DateRange, detector: Detector) -> list[Performance]:
    """Per provider: success rate, p50/p95 response time (nearest rank), retries; busiest first."""
    percentiles = _percentiles(user_id, rng)
    rows = [
        Performance(slug, provider_name(detector, slug), s.calls, s.successes, *percentiles.get(slug, (None, None)), s.retries)
        for slug, s in sum_cells(cells, lambda c: c.slug).items()
    ]
    rows.sort(key=lambda r: (-r.calls, r.display))
    return rows


def _percentiles(user_id: int, rng: DateRange) -> dict[str | None, tuple[float, float]]:
    """Nearest-rank p50 and p95 of response_time per provider, computed in the database."""
    ranked = (
        sa.select(
            T.actual_provider_name.label("slug"),
            T.response_time.label("rt"),
            sa.func.row_number().over(partition_by=T.actual_provider_name, order_by=T.response_time).label("rn"),
            sa.func.count().over(partition_by=T.actual_provider_name).label("n"),
        )
        .where(*_in_range(user_id, rng), T.response_time.is_not(None))
        .subquery()
    )
    # Nearest rank: the ceil(p * n)-th value, in integer arithmetic on both databases.
    rank50 = (ranked.c.n * 50 + 99) // 100
    rank95 = (ranked.c.n * 95 + 99) // 100
    result = db.session.execute(
        sa.select(ranked.c.slug, ranked.c.rt, ranked.c.rn == rank50, ranked.c.rn == rank95)
        .where(sa.or_(ranked.c.rn == rank50, ranked.c.rn == rank95))
    ).all()
    out: dict[str | None, list] = {}
    for slug, rt, is50, is95 in result:
        entry = out.setdefault(slug, [None, None])
        if is50:
            entry[0] = rt
        if is95:
            entry[1] = rt
    return {slug: (p50, p95) for slug, (p50, p95) in out.items()}


@dataclass(frozen=True)
class WorkCost:
    """What one provider charges for one kind of work."""

    kind: str
    slug: str | None
    display: str
    calls: int
    successes: int
    tokens: int
    cost: Decimal
    categories: tuple[str, ...]

    @property
    def cost_per_call(self) -> Decimal | None:
        return ratio(self.cost, self.calls)

    @property
    def cost_per_1k_tokens(self) -> Decimal | None:
        return ratio(self.cost * 1000, self.tokens) if self.tokens else None

    @property
    def success_rate(self) -> Decimal | None:
        return ratio(self.successes, self.calls)


def cost_comparison(cells: list[Cell], detector: Detector) -> dict[str, list[WorkCost]]:
    """For each kind of work, every provider that did it, cheapest per call first."""
    kinds: dict[str, list[WorkCost]] = {}
    for (kind, slug), s in sum_cells(cells, lambda c: (WORK_KINDS.get(c.category, "other"), c.slug)).items():
        kinds.setdefault(kind, []).append(WorkCost(
            kind, slug, provider_name(detector, slug), s.calls, s.successes, s.tokens, s.cost, tuple(sorted(s.categories))))
    for rows in kinds.values():
        rows.sort(key=lambda w: (w.cost_per_call is None, w.cost_per_call or 0, w.display))
    return dict(sorted(kinds.items(), key=lambda kv: -sum(w.cost for w in kv[1])))


@dataclass(frozen=True)
class PlanUsage:
    """Calls in the current billing period against the plan's limit, per category."""

    category: str
    calls: int
    limit: int | None

    @property
    def percent(self) -> Decimal | None:
        if not self.limit:
            return None
        return (Decimal(self.calls) * 100 / Decimal(self.limit)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def plan_usage(user_id: int, period: str, limits: dict[str, int]) -> list[PlanUsage]:
    """Calls per category in ``period`` (YYYY-MM) against the configured monthly limits."""
    counts = dict(db.session.execute(
        sa.select(T.provider, sa.func.count()).where(T.user_id == user_id, T.billing_period == period).group_by(T.provider)
    ).all())
    categories = set(limits) | {c.value for c in counts}
    rows = [PlanUsage(c, int(counts.get(APIProvider(c), 0)), limits.get(c)) for c in categories]
    rows.sort(key=lambda p: (-(p.percent or 0), -p.calls, p.category))
    return rows


@dataclass
class Dashboard:
    """Everything the dashboard shows, for one user and range."""

    range: DateRange
    totals: Totals
    previous: Totals
    breakdown: CostBreakdown
    series: list[SeriesPoint]
    performance: list[Performance]
    comparison: dict[str, list[WorkCost]]
    plan: list[PlanUsage]
    period: str
    recommendations: list = field(default_factory=list)


def build_dashboard(user_id: int, rng: DateRange, detector: Detector, limits: dict[str, int], now: dt.datetime) -> Dashboard:
    """Run every aggregate for the dashboard and the analytics JSON."""
    from portal.analytics.recommendations import recommend

    period = now.astimezone(dt.timezone.utc).strftime("%Y-%m")
    cells = grouped_cells(user_id, rng)
    board = Dashboard(
        range=rng,
        totals=totals_of(cells),
        previous=totals(user_id, rng.previous),
        breakdown=cost_by_provider(cells, detector),
        series=cost_series(cells, rng),
        performance=performance(cells, user_id, rng, detector),
        comparison=cost_comparison(cells, detector),
        plan=plan_usage(user_id, period, limits),
        period=period,
    )
    board.recommendations = recommend(board)
    return board
