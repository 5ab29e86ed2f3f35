"""Aggregates behind the dashboard and the analytics JSON (one set of functions for both).

Whole UTC days and months are read from the rollups, the rest of a range from
the raw rows (``portal.analytics.rollups`` decides which is which). Money is
summed by the database as exact decimals (``ExactMoney``), shares and rates are
computed from those exact sums, and the totals row is the exact sum of the
provider rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from portal.analytics.ranges import DateRange
from portal.analytics.rollups import cut_at_buckets, latency_bins, nearest_ranks, split_days, split_months, within
from portal.analytics.sql import bucket_of_day, bucket_start, day_bucket
from portal.dbtypes import ExactMoney, UTCDateTime
from portal.extensions import db
from portal.models import APIUsageLog, LatencyMonthlyHistogram, UsageDailyRollup
from portal.providers import Detector
from portal.providers.categories import APIProvider

T = APIUsageLog
R = UsageDailyRollup
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


def _success(status_code):
    """1 for a 2xx status, else 0."""
    return sa.case((status_code.between(200, 299), 1), else_=0)


@dataclass(frozen=True)
class _PieceRows:
    """The user's rows inside pieces of a range: ``bucket`` each row's piece number, ``c`` the
    selected columns, ``joined`` the FROM clause to select them from."""

    bucket: sa.ColumnElement
    c: sa.ColumnCollection
    joined: sa.FromClause


def _rows_in_pieces(user_id: int, pieces: list[tuple[int, dt.datetime, dt.datetime]], *columns) -> _PieceRows:
    """The user's raw rows in ``(number, start, end)`` pieces, one index range scan per piece.

    The pieces are a VALUES list joined onto the ``(user_id, timestamp)``
    index. (An ``OR`` of many ranges let SQLite pick an index on ``user_id``
    alone and read every row the user has.) SQLite loops over the small list by
    itself; PostgreSQL would rather loop over every row the user has and probe
    the list (seconds for a heavy user), so there each piece's rows are a
    LATERAL subquery, fenced with OFFSET 0 so the planner cannot flatten it
    back into that plain join.
    """
    listed = sa.values(sa.column("number", sa.Integer), sa.column("low", UTCDateTime()),
                       sa.column("high", UTCDateTime()), name="pieces").data(pieces).cte("pieces")
    in_piece = sa.and_(T.user_id == user_id, T.timestamp >= listed.c.low, T.timestamp < listed.c.high)
    if db.session.get_bind().dialect.name == "postgresql":
        rows = sa.select(*columns).where(in_piece).offset(0).lateral("l")
        return _PieceRows(listed.c.number, rows.c, listed.join(rows, sa.true()))
    # A plain join: the table's own columns (``columns`` among them) are selectable.
    return _PieceRows(listed.c.number, T.__table__.c, listed.join(T, in_piece))


def _whole(stretches: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """Stretches as pieces that need no bucket (all number 0)."""
    return [(0, start, end) for start, end in stretches]


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part/whole as an exact Decimal, None when whole is 0."""
    return (Decimal(part) / Decimal(whole)) if whole else None


class Cell(NamedTuple):
    """Sums for one (bucket, category, actual provider) group of a range (a tuple: a year has ~15k of them)."""

    bucket: int
    category: APIProvider
    slug: str | None
    calls: int
    tokens: int
    cost: Decimal
    successes: int
    retries: int


def grouped_cells(user_id: int, rng: DateRange, by_bucket: bool = True) -> list[Cell]:
    """The range's rows, grouped by bucket (if ``by_bucket``; else all bucket 0), category and actual provider.

    Whole UTC days come from the daily rollups, the rest from the raw rows
    (``split_days``); a group may appear once from each, and every consumer
    sums. Every figure of the dashboard except percentiles and plan usage is a
    sum over these cells.
    """
    split = split_days(rng, within_buckets=by_bucket)
    cells: list[Cell] = []
    if split.raw:
        # With buckets, pieces that each lie in one local day or week: the piece's number is the bucket.
        pieces = cut_at_buckets(split.raw, rng) if by_bucket else _whole(split.raw)
        rows = _rows_in_pieces(user_id, pieces, T.provider, T.actual_provider_name,
                               T.tokens_total, T.cost_total, T.status_code, T.retry_count)
        result = db.session.execute(
            sa.select(rows.bucket, rows.c.provider, rows.c.actual_provider_name, sa.func.count(),
                      sa.func.coalesce(sa.func.sum(rows.c.tokens_total), 0), _money_sum(rows.c.cost_total),
                      sa.func.coalesce(sa.func.sum(_success(rows.c.status_code)), 0),
                      sa.func.coalesce(sa.func.sum(rows.c.retry_count), 0))
            .select_from(rows.joined)
            .group_by(rows.bucket, rows.c.provider, rows.c.actual_provider_name)
        )
        cells += [Cell(int(b), APIProvider(c), slug, int(n), int(tok), Decimal(cost), int(ok), int(rt))
                  for b, c, slug, n, tok, cost, ok, rt in result]
    if split.rolled:
        buckets = [day_bucket(R.day, rng.bucket).label("bucket")] if by_bucket else []
        result = db.session.execute(
            sa.select(*(buckets or [sa.literal_column("0")]), R.category, R.actual_provider_name, sa.func.sum(R.calls),
                      sa.func.sum(R.tokens), _money_sum(R.cost), sa.func.sum(R.successes), sa.func.sum(R.retries))
            .where(R.user_id == user_id, within(R.day, split.rolled))
            .group_by(*buckets, R.category, R.actual_provider_name)
        )
        cells += [Cell(int(b), APIProvider(c), slug or UNATTRIBUTED, int(n), int(tok), Decimal(cost), int(ok), int(rt))
                  for b, c, slug, n, tok, cost, ok, rt in result]
    return cells


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


def collapse_buckets(cells: list[Cell]) -> list[Cell]:
    """One cell per (category, actual provider) over the whole range (bucket 0)."""
    return [Cell(0, category, slug, s.calls, s.tokens, s.cost, s.successes, s.retries)
            for (category, slug), s in sum_cells(cells, lambda c: (c.category, c.slug)).items()]


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
    """Calls, tokens, cost and failures in a range (whole UTC days from the rollups)."""
    return totals_of(grouped_cells(user_id, rng, by_bucket=False))


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


def _percentiles(user_id: int, rng: DateRange) -> dict[str | None, tuple[float | None, float | None]]:
    """Nearest-rank p50 and p95 of response_time per provider.

    Whole UTC months come from the latency histogram, the rest are exact raw
    values (see ``portal.analytics.rollups``).
    """
    split = split_months(rng)
    histograms: dict[str | None, dict[int, int]] = {}
    exact: dict[str | None, list[float]] = {}
    if split.rolled:
        H = LatencyMonthlyHistogram
        result = db.session.execute(
            sa.select(H.actual_provider_name, H.bin, sa.func.sum(H.calls))
            .where(H.user_id == user_id, within(H.month, split.rolled))
            .group_by(H.actual_provider_name, H.bin)
        )
        for slug, number, calls in result:
            histograms.setdefault(slug or UNATTRIBUTED, {})[number] = int(calls)
    if split.raw:
        raw = _rows_in_pieces(user_id, _whole(split.raw), T.actual_provider_name, T.response_time)
        # Core execution: tens of thousands of plain tuples, without the ORM's per-row work.
        result = db.session.connection().execute(
            sa.select(raw.c.actual_provider_name, raw.c.response_time).select_from(raw.joined)
            .where(raw.c.response_time.is_not(None))
        )
        for slug, seconds in result.all():
            exact.setdefault(slug, []).append(seconds)
    if not histograms and not exact:
        return {}
    bins = latency_bins()
    out = {}
    for slug in histograms.keys() | exact.keys():
        values = sorted(exact.get(slug, []))
        hist = histograms.get(slug, {})
        out[slug] = nearest_ranks((50, 95), hist, values, bins)
    return out


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
    """Calls per category in ``period`` (YYYY-MM) against the configured monthly limits.

    A billing period is the UTC calendar month of the call (what the recording
    service writes to ``billing_period``), so the daily rollups count it exactly.
    """
    first = dt.date.fromisoformat(f"{period}-01")
    stop = (first + dt.timedelta(days=32)).replace(day=1)
    counts = dict(db.session.execute(
        sa.select(R.category, sa.func.sum(R.calls)).where(R.user_id == user_id, R.day >= first, R.day < stop)
        .group_by(R.category)
    ).all())
    categories = set(limits) | set(counts)
    rows = [PlanUsage(c, int(counts.get(c, 0)), limits.get(c)) for c in categories]
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
    # Only the chart needs buckets; a year holds ~15k cells, ~150 once buckets are summed away.
    whole_range = collapse_buckets(cells)
    board = Dashboard(
        range=rng,
        totals=totals_of(whole_range),
        previous=totals(user_id, rng.previous),
        breakdown=cost_by_provider(whole_range, detector),
        series=cost_series(cells, rng),
        performance=performance(whole_range, user_id, rng, detector),
        comparison=cost_comparison(whole_range, detector),
        plan=plan_usage(user_id, period, limits),
        period=period,
    )
    board.recommendations = recommend(board)
    return board
