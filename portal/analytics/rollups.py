"""Which part of a range the rollups answer, and which part needs the raw rows.

The rollup tables (migration 0005, kept exact by triggers) hold sums per UTC
day and a latency histogram per UTC month. A dashboard range starts and ends
at local midnights of any zone, so it is split into whole UTC days (or months)
that the rollups answer and leftover stretches read from ``api_usage_logs``.
For the chart, a day only counts as whole if it also lies inside one chart
bucket (a local day or week); otherwise its rows are bucketed one by one.

Percentiles use the histogram: for whole months a response time is known only
to its bin (2% wide, so the bin's geometric middle is within 1% of the exact
value); for the leftover stretches it is known exactly. A percentile that
falls in a bin holding only exact values is exact.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from portal.analytics.ranges import DateRange, local_midnight
from portal.analytics.sql import bucket_of_day, bucket_start
from portal.extensions import db
from portal.models import LatencyBin

UTC = dt.timezone.utc
ONE_DAY = dt.timedelta(days=1)
# The last instant of a day, to ask which local day or week it falls in.
JUST_BEFORE = dt.timedelta(microseconds=1)


@dataclass
class Split:
    """A range as runs of whole UTC days or months (rollups) and stretches of instants (raw rows)."""

    rolled: list[tuple[dt.date, dt.date]] = field(default_factory=list)  # [first, stop) dates
    raw: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)  # [start, end) UTC instants

    def add_rolled(self, first: dt.date, stop: dt.date) -> None:
        if self.rolled and self.rolled[-1][1] == first:
            self.rolled[-1] = (self.rolled[-1][0], stop)
        else:
            self.rolled.append((first, stop))

    def add_raw(self, start: dt.datetime, end: dt.datetime) -> None:
        if self.raw and self.raw[-1][1] == start:
            self.raw[-1] = (self.raw[-1][0], end)
        else:
            self.raw.append((start, end))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _split(rng: DateRange, units, whole) -> Split:
    """Walk the UTC units (days or months) that overlap the range; ``whole(start, end)`` says which the rollups answer."""
    split = Split()
    for first, stop in units:
        start, end = _midnight(first), _midnight(stop)
        if rng.start <= start and end <= rng.end and whole(start, end):
            split.add_rolled(first, stop)
        else:
            split.add_raw(max(start, rng.start), min(end, rng.end))
    return split


def split_days(rng: DateRange, within_buckets: bool) -> Split:
    """Whole UTC days of the range (each inside one chart bucket if ``within_buckets``), and the rest."""
    first = rng.start.astimezone(UTC).date()
    last = (rng.end - JUST_BEFORE).astimezone(UTC).date()
    days = ((first + ONE_DAY * n, first + ONE_DAY * (n + 1)) for n in range((last - first).days + 1))

    def whole(start: dt.datetime, end: dt.datetime) -> bool:
        if not within_buckets:
            return True
        tz = rng.tz
        return (bucket_of_day(start.astimezone(tz).date(), rng.bucket)
                == bucket_of_day((end - JUST_BEFORE).astimezone(tz).date(), rng.bucket))

    return _split(rng, days, whole)


def cut_at_buckets(stretches: list[tuple[dt.datetime, dt.datetime]], rng: DateRange) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """Cut stretches at the chart's bucket boundaries: (bucket number, start, end) pieces.

    Each piece lies in one local day or week, so its rows need no per-row
    time-zone arithmetic in SQL: the bucket is a constant.
    """
    pieces = []
    for start, end in stretches:
        while start < end:
            number = bucket_of_day(start.astimezone(rng.tz).date(), rng.bucket)
            stop = min(end, local_midnight(bucket_start(number + 1, rng.bucket), rng.tz))
            pieces.append((number, start, stop))
            start = stop
    return pieces


def split_months(rng: DateRange) -> Split:
    """Whole UTC months of the range, and the rest."""
    month = rng.start.astimezone(UTC).date().replace(day=1)
    last = (rng.end - JUST_BEFORE).astimezone(UTC).date()
    months = []
    while month <= last:
        months.append((month, _next_month(month)))
        month = _next_month(month)
    return _split(rng, months, lambda start, end: True)


def within(column, runs: list[tuple]) -> sa.ColumnElement[bool]:
    """``column`` inside any of the half-open runs (sorted), behind one bounding range an index can seek."""
    bounds = sa.and_(column >= runs[0][0], column < runs[-1][1])
    if len(runs) == 1:
        return bounds
    return sa.and_(bounds, sa.or_(*(sa.and_(column >= low, column < high) for low, high in runs)))


# --- Latency bins ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Bins:
    """The latency bins' lower bounds (bin i is [lowers[i], lowers[i+1]), the last one open)."""

    lowers: tuple[float, ...]

    def of(self, seconds: float) -> int:
        """The bin a response time falls in (what the triggers compute in SQL)."""
        return max(bisect.bisect_right(self.lowers, seconds) - 1, 0)

    def middle(self, number: int) -> float:
        """A bin's representative value: the geometric middle (within 1% of anything in the bin)."""
        if number == 0:
            return self.lowers[1] / 2  # [0, 1 ms): within 0.5 ms
        if number == len(self.lowers) - 1:
            return self.lowers[number]
        return math.sqrt(self.lowers[number] * self.lowers[number + 1])


def latency_bins() -> Bins:
    """The bins as the migration stored them (read once per app)."""
    bins = current_app.extensions.get("portal.latency_bins")
    if bins is None:
        lowers = db.session.execute(sa.select(LatencyBin.lower_seconds).order_by(LatencyBin.bin)).scalars().all()
        bins = current_app.extensions["portal.latency_bins"] = Bins(tuple(lowers))
    return bins


def _exact_by_bin(exact: list[float], bins: Bins):
    """(bin, first index, stop index) for each bin the sorted ``exact`` values occupy; one bisect per bin."""
    start = 0
    while start < len(exact):
        number = bins.of(exact[start])
        stop = bisect.bisect_left(exact, bins.lowers[number + 1]) if number + 1 < len(bins.lowers) else len(exact)
        yield number, start, stop
        start = stop


def nearest_ranks(percents: tuple[int, ...], histogram: dict[int, int], exact: list[float], bins: Bins) -> tuple:
    """Nearest-rank percentiles (ascending ``percents``) of binned counts plus exact values (``exact`` sorted).

    Ranks are exact (counts are); a value is exact when its bin holds only
    exact values, and the bin's middle otherwise. None when there are no values.
    """
    n = sum(histogram.values()) + len(exact)
    if n == 0:
        return tuple(None for _ in percents)
    ranks = [(n * p + 99) // 100 for p in percents]  # ceil(p * n / 100), in integers
    occupied = {number: (lo, hi) for number, lo, hi in _exact_by_bin(exact, bins)}
    found: list[float] = []
    seen = 0
    for number in sorted(histogram.keys() | occupied.keys()):
        lo, hi = occupied.get(number, (0, 0))
        binned = histogram.get(number, 0)
        while len(found) < len(ranks) and seen + binned + hi - lo >= ranks[len(found)]:
            found.append(exact[lo + ranks[len(found)] - seen - 1] if binned == 0 else bins.middle(number))
        if len(found) == len(ranks):
            break
        seen += binned + hi - lo
    return tuple(found)
