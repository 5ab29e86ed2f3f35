"""Portable SQL pieces for time bucketing (SQLite and PostgreSQL differ here)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from portal.analytics.ranges import DateRange

SECONDS_PER_DAY = 86400
# 1970-01-01 was a Thursday; shifting by 3 days makes weeks start on Monday.
WEEK_SHIFT_DAYS = 3


class epoch_seconds(FunctionElement):
    """Whole seconds since 1970-01-01 of a naive-UTC timestamp column."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return "CAST(strftime('%%s', %s) AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return "CAST(EXTRACT(EPOCH FROM %s) AS BIGINT)" % compiler.process(element.clauses, **kw)


def offset_segments(rng: DateRange) -> list[tuple[dt.datetime, int]]:
    """(from instant, UTC offset in seconds) for each stretch of constant offset in the range.

    Hours are probed because every real zone changes offset on an hour or
    half-hour boundary at most a few times a year.
    """
    tz = rng.tz
    segments: list[tuple[dt.datetime, int]] = []
    probe = rng.start
    step = dt.timedelta(minutes=30)
    while probe < rng.end:
        offset = int(probe.astimezone(tz).utcoffset().total_seconds())
        if not segments or segments[-1][1] != offset:
            segments.append((probe, offset))
        probe += step
    return segments or [(rng.start, 0)]


def local_day_number(timestamp_column, rng: DateRange):
    """Days since 1970-01-01 in the range's zone, as an SQL integer expression (DST-exact)."""
    epoch = epoch_seconds(timestamp_column)
    segments = offset_segments(rng)
    if len(segments) == 1:
        shifted = epoch + segments[0][1]
    else:
        whens = [(timestamp_column < start, epoch + previous[1]) for previous, (start, _) in zip(segments, segments[1:])]
        shifted = sa.case(*whens, else_=epoch + segments[-1][1])
    # Integer floor division (SQLAlchemy renders it per dialect).
    return shifted // SECONDS_PER_DAY


def bucket_number(timestamp_column, rng: DateRange):
    """Day or Monday-week number, per ``rng.bucket``."""
    day = local_day_number(timestamp_column, rng)
    if rng.bucket == "week":
        return (day + WEEK_SHIFT_DAYS) // 7
    return day


def bucket_of_day(day: dt.date, bucket: str) -> int:
    """The bucket number of a local date: what ``bucket_number`` computes in SQL."""
    days = (day - dt.date(1970, 1, 1)).days
    return (days + WEEK_SHIFT_DAYS) // 7 if bucket == "week" else days


def bucket_start(number: int, bucket: str) -> dt.date:
    """The local date a bucket number starts on."""
    epoch = dt.date(1970, 1, 1)
    if bucket == "week":
        return epoch + dt.timedelta(days=number * 7 - WEEK_SHIFT_DAYS)
    return epoch + dt.timedelta(days=number)
