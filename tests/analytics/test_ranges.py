"""Range presets, custom ranges and time zones."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.analytics.ranges import resolve_range
from portal.usage.validation import InvalidInput

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # the day Europe moves to summer time


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("args, start, end", [
    ({}, utc(2026, 2, 28), utc(2026, 3, 30)),
    ({"range": "7d"}, utc(2026, 3, 23), utc(2026, 3, 30)),
    ({"range": "this_period"}, utc(2026, 3, 1), utc(2026, 4, 1)),
    ({"range": "last_period"}, utc(2026, 2, 1), utc(2026, 3, 1)),
    ({"range": "12m"}, utc(2025, 3, 30), utc(2026, 3, 30)),
    # Berlin: CET (+1) before the change, CEST (+2) after it.
    ({"range": "7d", "tz": "Europe/Berlin"}, utc(2026, 3, 22, 23), utc(2026, 3, 29, 22)),
    ({"range": "custom", "start": "2026-01-01", "end": "2026-01-31", "tz": "Asia/Kolkata"},
     utc(2025, 12, 31, 18, 30), utc(2026, 1, 31, 18, 30)),
    ({"range": "CUSTOM", "start": "2026-01-01T10:00:00Z", "end": "2026-01-01"}, utc(2026, 1, 1), utc(2026, 1, 2)),
])
def test_presets(args, start, end):
    rng = resolve_range(args, NOW)
    assert (rng.start, rng.end) == (start, end)
    assert rng.previous.end == rng.start and rng.previous.start == rng.start - (rng.end - rng.start)


def test_long_ranges_bucket_by_week():
    assert resolve_range({"range": "12m"}, NOW).bucket == "week"
    assert resolve_range({"range": "90d"}, NOW).bucket == "day"


@pytest.mark.parametrize("args, field", [
    ({"range": "1y"}, "range"),
    ({"tz": "Not/AZone"}, "tz"),
    ({"tz": "../../etc/passwd"}, "tz"),
    ({"range": "custom", "start": "2026-01-01"}, "end"),
    ({"range": "custom", "start": "yesterday", "end": "2026-01-01"}, "start"),
    ({"range": "custom", "start": "2020-01-01", "end": "2026-01-01"}, "end"),
])
def test_errors_name_the_parameter(args, field):
    with pytest.raises(InvalidInput) as info:
        resolve_range(args, NOW)
    assert field in [e.field for e in info.value.errors]


def test_bucket_bounds_are_local_days_clipped_to_the_range():
    rng = resolve_range({"range": "7d", "tz": "Europe/Berlin"}, NOW)
    # The summer-time day is 23 hours long in UTC.
    assert rng.bucket_bounds(dt.date(2026, 3, 29)) == {"start": utc(2026, 3, 28, 23), "end": utc(2026, 3, 29, 22)}
    weekly = resolve_range({"range": "12m"}, NOW)
    first = weekly.bucket_bounds(dt.date(2025, 3, 24))  # the Monday before the range starts
    assert first == {"start": weekly.start, "end": utc(2025, 3, 31)}


def test_custom_dates_are_strict_iso():
    for bad in ("0", "1700000000", "2026/01/01", "01-02-2026"):
        with pytest.raises(InvalidInput) as info:
            resolve_range({"range": "custom", "start": bad, "end": "2026-01-02"}, NOW)
        assert info.value.errors[0].field == "start"
