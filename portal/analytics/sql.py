"""Bucket numbers for the chart: in Python for local dates, in SQL for the rollups' UTC days.

Raw rows are never bucketed in SQL: the analytics read them in pieces that
each lie in one local day or week (``portal.analytics.rollups.cut_at_buckets``).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SECONDS_PER_DAY = 86400
# 1970-01-01 was a Thursday; shifting by 3 days makes weeks start on Monday.
WEEK_SHIFT_DAYS = 3


class epoch_seconds(FunctionElement):
    """Whole seconds since 1970-01-01 of a naive-UTC timestamp or a date column."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return "CAST(strftime('%%s', %s) AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return "CAST(EXTRACT(EPOCH FROM %s) AS BIGINT)" % compiler.process(element.clauses, **kw)


def day_bucket(date_column, bucket: str):
    """The bucket number of a UTC-date column, for days that lie wholly inside one bucket.

    Such a day's UTC date is always in its local bucket: local dates of its
    instants bracket it, and a bucket is a run of consecutive dates.
    """
    days = epoch_seconds(date_column) // SECONDS_PER_DAY
    return (days + WEEK_SHIFT_DAYS) // 7 if bucket == "week" else days


def bucket_of_day(day: dt.date, bucket: str) -> int:
    """The bucket number of a local date (``day_bucket`` is its SQL twin for UTC dates)."""
    days = (day - dt.date(1970, 1, 1)).days
    return (days + WEEK_SHIFT_DAYS) // 7 if bucket == "week" else days


def bucket_start(number: int, bucket: str) -> dt.date:
    """The local date a bucket number starts on."""
    epoch = dt.date(1970, 1, 1)
    if bucket == "week":
        return epoch + dt.timedelta(days=number * 7 - WEEK_SHIFT_DAYS)
    return epoch + dt.timedelta(days=number)
