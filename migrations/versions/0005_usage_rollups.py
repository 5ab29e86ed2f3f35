"""Rollups for the dashboard: daily sums and a monthly latency histogram, kept by triggers.

``usage_daily_rollups`` holds, per user, UTC day, category and actual provider,
the calls, tokens, cost, successes and retries of ``api_usage_logs``;
``latency_monthly_histogram`` holds, per user, UTC month and actual provider,
how many response times fell in each bin of ``latency_bins`` (geometric bins
2% wide from 1 ms, so a bin's geometric middle is within 1% of any value in it).

Database triggers keep both exactly equal to aggregates of the raw rows, so
every write path (the recording service, the attribution engine, a bulk load,
an operator's SQL, a cascading user delete) maintains them without knowing.
PostgreSQL uses statement-level triggers over transition tables (one
aggregated upsert per statement, keys in sorted order so concurrent writers
lock them in the same order); SQLite, which only has row triggers, one upsert
per row. The unattributed group is stored as '' (key columns cannot be NULL).

The existing rows are rolled up (``portal.usage.rollup_build``, the SQL that
``flask usage rollups rebuild`` also runs) in the same transaction that creates the
triggers, so no row is missed or counted twice: on PostgreSQL the trigger DDL
locks ``api_usage_logs`` against writes until commit; on SQLite the bins
INSERT opens the transaction (the driver begins one before the first DML) and
takes the write lock, and the trigger DDL and the roll-up run inside it.

What a rollup row is (its day, month, bin, success and key expressions, and
the per-key sums) is defined once in ``portal.usage.rollup_build``: the
triggers here and the rebuild both use it, so they cannot disagree; changing
it means a new migration that recreates the triggers.

Note for later migrations: on SQLite, a ``batch_alter_table`` that recreates
``api_usage_logs`` drops its triggers; recreate them (this module's DDL) after.

Revision ID: 0005_usage_rollups
Revises: 0004_login_throttle
Create Date: 2026-12-04
"""

import logging
import time

import sqlalchemy as sa
from alembic import op

from portal.usage.rollup_build import (
    bin_sql, daily_sums_sql, day_sql, histogram_sql, month_sql, rebuild_rollups, slug_sql, success_sql,
)

revision = "0005_usage_rollups"
down_revision = "0004_login_throttle"
branch_labels = None
depends_on = None

# Frozen here (a migration never follows the app's later changes): 2% bins from 1 ms to a day.
BIN_BASE_SECONDS = 0.001
BIN_RATIO = 1.02
BIN_TOP_SECONDS = 86400.0

log = logging.getLogger("portal.migrations")
MONEY_SUM = sa.Numeric(28, 8)  # sums of NUMERIC(18, 8); BIGINT units of 1e-8 on SQLite, like the raw column
COUNT = sa.BigInteger()
TRIGGERS = ("usage_rollups_after_insert", "usage_rollups_after_update", "usage_rollups_after_delete")


def bin_lowers() -> list[float]:
    """Lower bounds of the bins: bin 0 is [0, 1 ms), bin i is [1 ms * 1.02^(i-1), next)."""
    lowers = [0.0]
    value = BIN_BASE_SECONDS
    while value <= BIN_TOP_SECONDS:
        lowers.append(value)
        value *= BIN_RATIO
    return lowers


def _create_tables(money) -> None:
    op.create_table(
        "latency_bins",
        sa.Column("bin", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lower_seconds", sa.Float(), nullable=False),
        sa.Column("upper_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("bin", name="pk_latency_bins"),
        sa.UniqueConstraint("lower_seconds", name="uq_latency_bins_lower_seconds"),
    )
    lowers = bin_lowers()
    op.bulk_insert(
        sa.table("latency_bins", sa.column("bin"), sa.column("lower_seconds"), sa.column("upper_seconds")),
        [{"bin": i, "lower_seconds": low, "upper_seconds": lowers[i + 1] if i + 1 < len(lowers) else None}
         for i, low in enumerate(lowers)],
    )
    op.create_table(
        "usage_daily_rollups",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("actual_provider_name", sa.String(50), nullable=False),
        sa.Column("calls", COUNT, nullable=False),
        sa.Column("tokens", COUNT, nullable=False),
        sa.Column("cost", money, nullable=False),
        sa.Column("successes", COUNT, nullable=False),
        sa.Column("retries", COUNT, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_usage_daily_rollups_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "day", "category", "actual_provider_name", name="pk_usage_daily_rollups"),
    )
    op.create_table(
        "latency_monthly_histogram",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("actual_provider_name", sa.String(50), nullable=False),
        sa.Column("bin", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calls", COUNT, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_latency_monthly_histogram_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "month", "actual_provider_name", "bin", name="pk_latency_monthly_histogram"),
    )


# --- SQLite: row triggers ---------------------------------------------------------------

def _sqlite_keys(row: str) -> dict[str, str]:
    """The rollup keys and values of the trigger's NEW or OLD row."""
    return {"row": row, "day": day_sql("sqlite", row), "month": month_sql("sqlite", row), "slug": slug_sql(row),
            "bin": bin_sql(row), "ok": success_sql(row)}


def _sqlite_add(row: str) -> str:
    k = _sqlite_keys(row)
    return """
    INSERT INTO usage_daily_rollups (user_id, day, category, actual_provider_name, calls, tokens, cost, successes, retries)
    VALUES ({row}.user_id, {day}, {row}.provider, {slug}, 1, {row}.tokens_total, {row}.cost_total, {ok}, {row}.retry_count)
    ON CONFLICT (user_id, day, category, actual_provider_name) DO UPDATE SET
        calls = calls + 1, tokens = tokens + excluded.tokens, cost = cost + excluded.cost,
        successes = successes + excluded.successes, retries = retries + excluded.retries;
    INSERT INTO latency_monthly_histogram (user_id, month, actual_provider_name, bin, calls)
    SELECT {row}.user_id, {month}, {slug}, {bin}, 1 WHERE {row}.response_time IS NOT NULL
    ON CONFLICT (user_id, month, actual_provider_name, bin) DO UPDATE SET calls = calls + 1;
    """.format(**k)


def _sqlite_remove(row: str) -> str:
    k = _sqlite_keys(row)
    return """
    UPDATE usage_daily_rollups SET
        calls = calls - 1, tokens = tokens - {row}.tokens_total, cost = cost - {row}.cost_total,
        successes = successes - {ok}, retries = retries - {row}.retry_count
    WHERE user_id = {row}.user_id AND day = {day} AND category = {row}.provider AND actual_provider_name = {slug};
    DELETE FROM usage_daily_rollups
    WHERE user_id = {row}.user_id AND day = {day} AND category = {row}.provider AND actual_provider_name = {slug} AND calls = 0;
    UPDATE latency_monthly_histogram SET calls = calls - 1
    WHERE {row}.response_time IS NOT NULL
      AND user_id = {row}.user_id AND month = {month} AND actual_provider_name = {slug} AND bin = {bin};
    DELETE FROM latency_monthly_histogram
    WHERE user_id = {row}.user_id AND month = {month} AND actual_provider_name = {slug} AND calls = 0;
    """.format(**k)


ROLLED_COLUMNS = ("user_id", "timestamp", "provider", "actual_provider_name", "tokens_total", "cost_total",
                  "status_code", "retry_count", "response_time")


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER usage_rollups_after_insert AFTER INSERT ON api_usage_logs BEGIN {_sqlite_add('NEW')} END",
        f"CREATE TRIGGER usage_rollups_after_update AFTER UPDATE OF {', '.join(ROLLED_COLUMNS)} ON api_usage_logs "
        f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
        f"CREATE TRIGGER usage_rollups_after_delete AFTER DELETE ON api_usage_logs BEGIN {_sqlite_remove('OLD')} END",
    ]


# --- PostgreSQL: statement triggers over transition tables ---------------------------------

def _pg_daily_deltas(source: str, sign: int) -> str:
    """Daily rollups of a transition table, signed (+1 added rows, -1 removed rows)."""
    return f"""
    SELECT user_id, day, category, actual_provider_name, {sign} * calls AS calls, {sign} * tokens AS tokens,
           {sign} * cost AS cost, {sign} * successes AS successes, {sign} * retries AS retries
    FROM ({daily_sums_sql("postgresql", source)}) s"""


def _pg_latency_deltas(source: str, sign: int) -> str:
    """Monthly histogram of a transition table, signed."""
    return f"""
    SELECT user_id, month, actual_provider_name, bin, {sign} * calls AS calls
    FROM ({histogram_sql("postgresql", source)}) s"""


def _pg_upsert(daily: str, latency: str) -> str:
    """Add signed deltas, keys in sorted order (a consistent lock order), then drop emptied rows."""
    return f"""
    WITH d AS ({daily})
    INSERT INTO usage_daily_rollups AS t (user_id, day, category, actual_provider_name, calls, tokens, cost, successes, retries)
    SELECT user_id, day, category, actual_provider_name, sum(calls), sum(tokens), sum(cost), sum(successes), sum(retries)
    FROM d GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (user_id, day, category, actual_provider_name) DO UPDATE SET
        calls = t.calls + excluded.calls, tokens = t.tokens + excluded.tokens, cost = t.cost + excluded.cost,
        successes = t.successes + excluded.successes, retries = t.retries + excluded.retries;
    DELETE FROM usage_daily_rollups WHERE calls = 0 AND (user_id, day, category, actual_provider_name) IN (
        SELECT user_id, day, category, actual_provider_name FROM ({daily}) d);
    WITH h AS ({latency})
    INSERT INTO latency_monthly_histogram AS t (user_id, month, actual_provider_name, bin, calls)
    SELECT user_id, month, actual_provider_name, bin, sum(calls) FROM h GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (user_id, month, actual_provider_name, bin) DO UPDATE SET calls = t.calls + excluded.calls;
    DELETE FROM latency_monthly_histogram WHERE calls = 0 AND (user_id, month, actual_provider_name, bin) IN (
        SELECT user_id, month, actual_provider_name, bin FROM ({latency}) h);
    """


def _pg_subtract(daily: str, latency: str) -> str:
    """Remove deleted rows' sums with UPDATEs only: a cascading user delete may already have removed the rollups."""
    return f"""
    UPDATE usage_daily_rollups t SET
        calls = t.calls + d.calls, tokens = t.tokens + d.tokens, cost = t.cost + d.cost,
        successes = t.successes + d.successes, retries = t.retries + d.retries
    FROM ({daily}) d
    WHERE t.user_id = d.user_id AND t.day = d.day AND t.category = d.category AND t.actual_provider_name = d.actual_provider_name;
    DELETE FROM usage_daily_rollups WHERE calls = 0 AND (user_id, day, category, actual_provider_name) IN (
        SELECT user_id, day, category, actual_provider_name FROM ({daily}) d);
    UPDATE latency_monthly_histogram t SET calls = t.calls + h.calls
    FROM ({latency}) h
    WHERE t.user_id = h.user_id AND t.month = h.month AND t.actual_provider_name = h.actual_provider_name AND t.bin = h.bin;
    DELETE FROM latency_monthly_histogram WHERE calls = 0 AND (user_id, month, actual_provider_name, bin) IN (
        SELECT user_id, month, actual_provider_name, bin FROM ({latency}) h);
    """


def _pg_function(name: str, body: str) -> str:
    return f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"


def _pg_statements() -> list[str]:
    insert_body = _pg_upsert(_pg_daily_deltas("new_rows", 1), _pg_latency_deltas("new_rows", 1))
    update_body = _pg_upsert(
        _pg_daily_deltas("old_rows", -1) + " UNION ALL " + _pg_daily_deltas("new_rows", 1),
        _pg_latency_deltas("old_rows", -1) + " UNION ALL " + _pg_latency_deltas("new_rows", 1),
    )
    delete_body = _pg_subtract(_pg_daily_deltas("old_rows", -1), _pg_latency_deltas("old_rows", -1))
    return [
        _pg_function("usage_rollups_after_insert", insert_body),
        _pg_function("usage_rollups_after_update", update_body),
        _pg_function("usage_rollups_after_delete", delete_body),
        "CREATE TRIGGER usage_rollups_after_insert AFTER INSERT ON api_usage_logs "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_after_insert()",
        "CREATE TRIGGER usage_rollups_after_update AFTER UPDATE ON api_usage_logs "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_after_update()",
        "CREATE TRIGGER usage_rollups_after_delete AFTER DELETE ON api_usage_logs "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_after_delete()",
    ]


def upgrade():
    """Create the tables and triggers, then roll up the rows already there (one transaction)."""
    dialect = op.get_bind().dialect.name
    _create_tables(sa.BigInteger() if dialect == "sqlite" else MONEY_SUM)
    for statement in (_sqlite_triggers() if dialect == "sqlite" else _pg_statements()):
        op.execute(statement)
    rows = op.get_bind().execute(sa.text("SELECT count(*) FROM api_usage_logs")).scalar_one()
    log.info("rolling up %d existing usage logs (one grouped pass per rollup table)", rows)
    started = time.monotonic()
    rebuild_rollups(op.get_bind())
    log.info("rollups built in %.1f s; triggers keep them from now on", time.monotonic() - started)


def downgrade():
    """Drop the triggers, their functions and the tables."""
    dialect = op.get_bind().dialect.name
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if dialect == "sqlite" else " ON api_usage_logs"))
        if dialect != "sqlite":
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("latency_monthly_histogram")
    op.drop_table("usage_daily_rollups")
    op.drop_table("latency_bins")
