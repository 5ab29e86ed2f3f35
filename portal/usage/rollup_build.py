"""Build and check the rollup tables from the raw rows, in SQL.

Triggers keep ``usage_daily_rollups`` and ``latency_monthly_histogram`` exact
as rows are written (migration 0005). This module computes both from scratch:
migration 0005 uses it to roll up the rows that exist before its triggers,
and ``flask usage rollups check|rebuild`` uses it when someone suspects drift
(triggers disabled during a restore, a logical-replication subscriber applying
rows with ``session_replication_role = replica``).

Like the attribution engine it speaks plain SQL over table names, imports no
Flask and no models, so migration 0005 keeps working when the app changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

# What a rollup row is, as SQL over one usage-log row (``row`` is its alias). The
# triggers of migration 0005 and the rebuild below both use these; changing one
# means a new migration that recreates the triggers.

def success_sql(row: str) -> str:
    """1 for a 2xx call, else 0."""
    return f"CASE WHEN {row}.status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END"


def slug_sql(row: str) -> str:
    """The actual provider as a key ('' when there is none: key columns cannot be NULL)."""
    return f"coalesce({row}.actual_provider_name, '')"


def bin_sql(row: str) -> str:
    """The latency bin of the row's response time: the last bin whose lower bound is at or below it."""
    return (f"coalesce((SELECT b.bin FROM latency_bins b WHERE b.lower_seconds <= {row}.response_time "
            "ORDER BY b.lower_seconds DESC LIMIT 1), 0)")


def day_sql(dialect: str, row: str) -> str:
    """The UTC day of the row's timestamp."""
    return f"date({row}.timestamp)" if dialect == "sqlite" else f'{row}."timestamp"::date'


def month_sql(dialect: str, row: str) -> str:
    """The first day of the UTC month of the row's timestamp."""
    if dialect == "sqlite":
        return f"date({row}.timestamp, 'start of month')"
    return f"date_trunc('month', {row}.\"timestamp\")::date"


def daily_sums_sql(dialect: str, source: str = "api_usage_logs") -> str:
    """The daily rollups of the rows in ``source`` (columns in table order)."""
    return f"""
        SELECT l.user_id, {day_sql(dialect, "l")} AS day, l.provider AS category,
               {slug_sql("l")} AS actual_provider_name, count(*) AS calls, sum(l.tokens_total) AS tokens,
               sum(l.cost_total) AS cost, sum({success_sql("l")}) AS successes, sum(l.retry_count) AS retries
        FROM {source} l GROUP BY 1, 2, 3, 4"""


def histogram_sql(dialect: str, source: str = "api_usage_logs") -> str:
    """The monthly latency histogram of the rows in ``source`` (columns in table order)."""
    return f"""
        SELECT user_id, month, actual_provider_name, bin, count(*) AS calls FROM (
            SELECT l.user_id, {month_sql(dialect, "l")} AS month, {slug_sql("l")} AS actual_provider_name,
                   {bin_sql("l")} AS bin
            FROM {source} l WHERE l.response_time IS NOT NULL
        ) binned GROUP BY 1, 2, 3, 4"""


DAILY_COLUMNS = "user_id, day, category, actual_provider_name, calls, tokens, cost, successes, retries"
HISTOGRAM_COLUMNS = "user_id, month, actual_provider_name, bin, calls"


def _hold_writers(conn: sa.Connection) -> None:
    """Keep writers out until commit, so no row lands between reading the raw rows and replacing the rollups.

    (SQLite's single writer lock does this once the transaction writes.)
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE api_usage_logs IN SHARE MODE")


def rebuild_rollups(conn: sa.Connection) -> None:
    """Replace both tables' contents with aggregates of the raw rows (in the caller's transaction)."""
    _hold_writers(conn)
    dialect = conn.dialect.name
    conn.exec_driver_sql("DELETE FROM usage_daily_rollups")
    conn.exec_driver_sql("DELETE FROM latency_monthly_histogram")
    conn.exec_driver_sql(f"INSERT INTO usage_daily_rollups ({DAILY_COLUMNS}) {daily_sums_sql(dialect)}")
    conn.exec_driver_sql(f"INSERT INTO latency_monthly_histogram ({HISTOGRAM_COLUMNS}) {histogram_sql(dialect)}")


@dataclass(frozen=True)
class Drift:
    """Rows that differ between a rollup table and the aggregate of the raw rows (in either direction)."""

    daily: int
    histogram: int

    @property
    def none(self) -> bool:
        return self.daily == 0 and self.histogram == 0


def rollup_drift(conn: sa.Connection) -> Drift:
    """Compare both tables with fresh aggregates of the raw rows (read-only)."""
    dialect = conn.dialect.name

    def differing(table: str, columns: str, fresh: str) -> int:
        stored = f"SELECT {columns} FROM {table}"
        return conn.exec_driver_sql(
            f"SELECT count(*) FROM (SELECT * FROM ({fresh}) f EXCEPT {stored}) a"
        ).scalar_one() + conn.exec_driver_sql(
            f"SELECT count(*) FROM ({stored} EXCEPT SELECT * FROM ({fresh}) f) b"
        ).scalar_one()

    return Drift(differing("usage_daily_rollups", DAILY_COLUMNS, daily_sums_sql(dialect)),
                 differing("latency_monthly_histogram", HISTOGRAM_COLUMNS, histogram_sql(dialect)))
