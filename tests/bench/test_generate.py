"""``bench.generate`` writes the data set it is asked for, readable by the app, on the test backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from bench.generate import HEAVY_EMAIL, generate
from portal import create_app
from portal.extensions import db
from portal.models import APIUsageLog

DISTINCT_TRIPLES = (
    "SELECT count(*) FROM (SELECT DISTINCT provider, coalesce(model_used, ''), coalesce(endpoint, '') "
    "FROM api_usage_logs) AS t"
)


def quiet(_: str) -> None:
    pass


def test_generates_the_requested_rows_users_heavy_user_and_mix(make_database):
    url = make_database()
    end = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)
    summary = generate(url, 2_000, users=200, seed=11, schema="head", end=end, log=quiet)

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM api_usage_logs")) == 2_000
            assert conn.scalar(sa.text("SELECT count(*) FROM users")) == 200
            heavy_id = conn.scalar(sa.text("SELECT id FROM users WHERE email = :e"), {"e": HEAVY_EMAIL})
            per_user = dict(conn.execute(sa.text("SELECT user_id, count(*) FROM api_usage_logs GROUP BY user_id")).all())
            triples = conn.scalar(sa.text(DISTINCT_TRIPLES))
            unattributed = conn.scalar(sa.text("SELECT count(*) FROM api_usage_logs WHERE actual_provider_name IS NULL"))
    finally:
        engine.dispose()

    # The heavy user: 300,000 rows per million, far ahead of everyone else.
    assert heavy_id == summary.heavy_user_id
    assert per_user[heavy_id] == summary.heavy_rows == 600
    others = sorted((n for uid, n in per_user.items() if uid != heavy_id), reverse=True)
    assert per_user[heavy_id] >= 3 * others[0]
    assert len(per_user) == 200  # every user has usage
    assert triples >= 50 and triples == summary.triples
    assert unattributed == 0  # head schema: attributed by the detector

    # What was written reads back through the app's own types (timestamps, exact money).
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        rows = db.session.scalars(sa.select(APIUsageLog).order_by(APIUsageLog.id).limit(200)).all()
        assert [r.timestamp for r in rows] == sorted(r.timestamp for r in rows)  # ids follow time
        for row in rows:
            assert end - dt.timedelta(days=366) <= row.timestamp <= end
            assert row.billing_period == row.timestamp.strftime("%Y-%m")
            assert row.created_at >= row.timestamp
            assert isinstance(row.cost_total, Decimal) and row.cost_total == row.cost_input + row.cost_output
            assert row.tokens_total == row.tokens_input + row.tokens_output
        db.session.remove()
        db.engine.dispose()


def test_before_schema_is_the_legacy_revision_without_the_column(make_database):
    url = make_database()
    summary = generate(url, 500, users=20, seed=3, schema="before", log=quiet)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("api_usage_logs")}
            version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            count = conn.scalar(sa.text("SELECT count(*) FROM api_usage_logs"))
    finally:
        engine.dispose()
    assert "actual_provider_name" not in columns
    assert version == "0001_initial_schema"
    assert count == summary.rows == 500
