"""Database session settings the benchmarks showed to matter, checked on the live connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db


def test_postgresql_sessions_plan_each_query_and_never_jit(app):
    """Generic plans made a heavy user's page ~50 ms; JIT made a dashboard spend 3.5 s compiling."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL session settings (the SQLite run checks its pragmas below)")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW jit")).scalar() == "off"
        assert conn.connection.driver_connection.prepare_threshold is None


def test_sqlite_sessions_use_wal_a_busy_timeout_and_foreign_keys(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas (the PostgreSQL run checks its session settings above)")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
