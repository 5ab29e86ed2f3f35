"""Splitting a range between the rollups and the raw rows, and percentiles over binned counts."""

from __future__ import annotations

import bisect
import datetime as dt
import math
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.analytics.ranges import COMMON_ZONES, resolve_range
from portal.analytics.rollups import Bins, nearest_ranks, split_days, split_months

UTC = dt.timezone.utc
ZONES = list(COMMON_ZONES) + ["Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham"]


def custom(start: dt.date, days: int, zone: str):
    return resolve_range({"range": "custom", "start": start.isoformat(),
                          "end": (start + dt.timedelta(days=days - 1)).isoformat(), "tz": zone})


def pieces(split) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every part of a split as UTC instants, in order."""
    rolled = [(dt.datetime.combine(a, dt.time(), UTC), dt.datetime.combine(b, dt.time(), UTC)) for a, b in split.rolled]
    return sorted(rolled + split.raw)


def local_bucket(instant: dt.datetime, zone: ZoneInfo, weekly: bool) -> dt.date:
    day = instant.astimezone(zone).date()
    return day - dt.timedelta(days=day.weekday()) if weekly else day


def test_a_utc_range_is_all_rollups():
    rng = custom(dt.date(2026, 1, 5), 30, "UTC")
    split = split_days(rng, within_buckets=True)
    assert split.rolled == [(dt.date(2026, 1, 5), dt.date(2026, 2, 4))] and split.raw == []


def test_a_half_hour_zone_reads_its_days_raw_but_its_totals_from_rollups():
    rng = custom(dt.date(2026, 1, 5), 3, "Asia/Kolkata")  # local midnight is 18:30 UTC
    assert split_days(rng, within_buckets=True).rolled == []
    totals = split_days(rng, within_buckets=False)
    assert totals.rolled == [(dt.date(2026, 1, 5), dt.date(2026, 1, 7))]
    assert totals.raw == [(dt.datetime(2026, 1, 4, 18, 30, tzinfo=UTC), dt.datetime(2026, 1, 5, tzinfo=UTC)),
                          (dt.datetime(2026, 1, 7, tzinfo=UTC), dt.datetime(2026, 1, 7, 18, 30, tzinfo=UTC))]


def test_weeks_in_new_york_read_only_the_days_that_cross_a_week_boundary_raw():
    rng = custom(dt.date(2026, 1, 5), 28, "America/New_York")  # Monday 5 Jan to Sunday 1 Feb, four weeks
    assert rng.bucket == "day"
    rng = resolve_range({"range": "12m", "tz": "America/New_York"})
    split = split_days(rng, within_buckets=True)
    # Monday 00:00 New York is 04:00 or 05:00 UTC: only the UTC Mondays (and the range ends) are raw.
    for start, end in split.raw[1:-1]:
        assert start.astimezone(ZoneInfo("America/New_York")).weekday() in (0, 6) and end - start <= dt.timedelta(days=1)
    assert 45 <= len(split.raw) <= 56


def test_months():
    rng = custom(dt.date(2026, 1, 15), 60, "UTC")  # 15 Jan .. 15 Mar
    split = split_months(rng)
    assert split.rolled == [(dt.date(2026, 2, 1), dt.date(2026, 3, 1))]
    assert split.raw == [(dt.datetime(2026, 1, 15, tzinfo=UTC), dt.datetime(2026, 2, 1, tzinfo=UTC)),
                         (dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 3, 16, tzinfo=UTC))]
    december = custom(dt.date(2025, 12, 1), 31, "UTC")
    assert split_months(december).rolled == [(dt.date(2025, 12, 1), dt.date(2026, 1, 1))]


@settings(max_examples=300, deadline=None)
@given(start=st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)), days=st.integers(1, 400),
       zone=st.sampled_from(ZONES), within_buckets=st.booleans())
def test_a_split_tiles_the_range_and_uses_every_whole_day(start, days, zone, within_buckets):
    rng = custom(start, days, zone)
    split = split_days(rng, within_buckets)
    parts = pieces(split)
    # Exactly the range, no gaps, no overlaps.
    assert parts[0][0] == rng.start and parts[-1][1] == rng.end
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    tz, weekly = ZoneInfo(zone), rng.bucket == "week"
    # A rolled day lies in one bucket (checked every 15 minutes); a raw UTC day could not have been rolled.
    for first, stop in split.rolled:
        day = first
        while day < stop:
            instants = [dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(minutes=15 * k) for k in range(96)]
            instants.append(dt.datetime.combine(day, dt.time(23, 59, 59, 999999), UTC))
            assert not within_buckets or len({local_bucket(i, tz, weekly) for i in instants}) == 1
            day += dt.timedelta(days=1)
    for low, high in split.raw:
        day = low.date() if low.time() == dt.time() else low.date() + dt.timedelta(days=1)
        while dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), UTC) <= high:
            midnight = dt.datetime.combine(day, dt.time(), UTC)
            ends = [midnight, midnight + dt.timedelta(hours=24) - dt.timedelta(microseconds=1)]
            assert within_buckets and len({local_bucket(i, tz, weekly) for i in ends}) == 2, (day, zone)
            day += dt.timedelta(days=1)


# --- percentiles ---

LOWERS = tuple([0.0] + [0.001 * 1.02 ** i for i in range(923)])
BINS = Bins(LOWERS)


def exact_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


def binned(values: list[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for v in values:
        number = bisect.bisect_right(LOWERS, v) - 1
        counts[number] = counts.get(number, 0) + 1
    return counts


def test_exact_values_give_the_exact_percentile():
    values = [0.2, 1.5, 0.7, 30.0, 0.7, 12.25, 3.0]
    assert nearest_ranks((50, 95), {}, sorted(values), BINS) == (1.5, 30.0)
    assert nearest_ranks((50, 95), {}, [], BINS) == (None, None)


def test_a_binned_percentile_is_the_middle_of_its_bin():
    # 10 values near 1 s in the histogram, 10 exact values near 5 s: p50 falls in the histogram.
    hist = binned([1.0] * 10)
    p50, p95 = nearest_ranks((50, 95), hist, [5.0] * 10, BINS)
    assert p50 != 1.0 and abs(p50 - 1.0) <= 0.01
    assert p95 == 5.0  # its bin holds only exact values


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(0, 86400, allow_nan=False), min_size=1, max_size=60),
       cut=st.integers(0, 60), percents=st.lists(st.integers(1, 100), min_size=1, max_size=4, unique=True))
def test_percentile_within_one_percent_of_the_exact_one(values, cut, percents):
    percents = tuple(sorted(percents))
    hist_part, exact_part = values[:cut], values[cut:]
    for p, got in zip(percents, nearest_ranks(percents, binned(hist_part), sorted(exact_part), BINS), strict=True):
        check_percentile(p, got, values, hist_part)


def check_percentile(p, got, values, hist_part):
    exact = exact_rank(values, p)
    if binned([exact]).keys().isdisjoint(binned(hist_part)):
        assert got == exact  # its bin holds only exact values
    elif exact < 0.001:
        assert abs(got - exact) <= 0.0005
    elif exact < LOWERS[-1]:
        assert abs(got - exact) <= exact * 0.01
    else:
        assert got == LOWERS[-1]
