"""The list and analytics queries use the intended indexes, on SQLite and PostgreSQL.

The statements are captured while the real functions run, then EXPLAINed on
the same connection, so a schema or query change that falls back to a full
scan of api_usage_logs fails here. (On PostgreSQL sequential scans, bitmap
scans and sorts are discouraged for the EXPLAIN: tiny test tables would
otherwise make them the cheapest plan; what is checked is that an index
*can* serve the query, in order where it is paged.)
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portal.analytics.queries import build_dashboard
from portal.analytics.ranges import resolve_range
from portal.extensions import db
from portal.usage import record_usage
from portal.usage.filters import parse_filters
from portal.usage.queries import list_logs
from portal.usage.recording import app_detector

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def seeded(make_user):
    users = [make_user() for _ in range(3)]
    for n, user in enumerate(users):
        record_usage([{"user_id": user.id, "provider": p, "model_used": m, "status_code": 200 if i % 7 else 500,
                       "cost_total": "0.01", "response_time": 0.5 + i % 5,
                       "timestamp": (NOW - dt.timedelta(hours=i * 3 + n)).isoformat()}
                      for i in range(120) for p, m in [("video", "alibaba/wan-2.5/text-to-video")] + ([("gemini", "gemini-2.5-flash")] if i % 2 else [])])
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return users[1]


ROLLUPS = ("usage_daily_rollups", "latency_monthly_histogram")
TABLES = ("api_usage_logs",) + ROLLUPS


def captured(fn, tables=("api_usage_logs",)) -> list[tuple[str, object]]:
    """Run ``fn`` and return every SELECT on ``tables`` it executed, with parameters."""
    statements = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and any(t in statement for t in tables):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert statements
    return statements


def plan(statement: str, parameters) -> str:
    """The database's plan for one statement, as text."""
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    cursor = raw.cursor()
    try:
        if db.engine.dialect.name == "postgresql":
            # Tiny test tables make a scan, or a bitmap scan of any user_id index plus
            # a sort of 180 rows, the cheapest plan (that flaked 1 run in ~10).
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + statement, parameters)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
    finally:
        cursor.close()
        db.session.rollback()


def assert_indexed(statement: str, parameters, index: str | None = None) -> None:
    text = plan(statement, parameters)
    for table in TABLES:
        if db.engine.dialect.name == "postgresql":
            assert f"Seq Scan on {table}" not in text, text
        else:
            assert not re.search(rf"\bSCAN {table}\b(?! USING)", text), text
    if index:
        assert index in text, f"expected {index}:\n{text}"


def test_list_first_page_uses_user_timestamp_index(seeded):
    rows, count = captured(lambda: list_logs(seeded.id, parse_filters({}), 50, 0))
    assert_indexed(*rows, "ix_api_usage_logs_user_ts")
    assert_indexed(*count, "api_usage_logs_user_")  # any index that leads with user_id


def test_keyset_page_uses_user_timestamp_index(seeded):
    first = list_logs(seeded.id, parse_filters({}), 20, 0)
    statements = captured(lambda: list_logs(seeded.id, parse_filters({}), 20, 0, first.next_cursor))
    assert_indexed(*statements[0], "ix_api_usage_logs_user_ts")


def test_actual_provider_filter_uses_its_index(seeded):
    filters = parse_filters({"actual_provider": "google"})
    for statement, params in captured(lambda: list_logs(seeded.id, filters, 50, 0)):
        assert_indexed(statement, params, "api_usage_logs_user_")


def test_category_and_range_filter_is_indexed(seeded):
    filters = parse_filters({"provider": "video", "start": (NOW - dt.timedelta(days=5)).isoformat(), "end": NOW.isoformat()})
    for statement, params in captured(lambda: list_logs(seeded.id, filters, 50, 0)):
        assert_indexed(statement, params, "api_usage_logs_user_")


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
@pytest.mark.parametrize("preset", ["7d", "90d", "12m"])
def test_every_analytics_query_is_indexed(seeded, preset, zone):
    rng = resolve_range({"range": preset, "tz": zone})
    statements = captured(lambda: build_dashboard(seeded.id, rng, app_detector(), {"video": 10}, NOW), TABLES)
    # Cells and previous totals (each from rollups, raw rows or both), percentiles, plan usage.
    assert len(statements) >= 4
    for statement, params in statements:
        assert_indexed(statement, params)
    read = {table for statement, _ in statements for table in ROLLUPS if table in statement}
    # The daily rollups answer whole UTC days; a range of full months also reads the histogram.
    assert "usage_daily_rollups" in read
    if preset == "12m":
        assert "latency_monthly_histogram" in read
