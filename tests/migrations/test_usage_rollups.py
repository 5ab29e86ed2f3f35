"""Revision 0005: the rollup tables equal the raw rows' sums, built once and kept by triggers.

Every expectation comes from ``tests.fixtures.rollups``, which sums the raw
rows in Python; nothing here reads the app's analytics code.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.usage import record_usage
from portal.usage.attribution import attribute_rows
from tests.fixtures.rollups import assert_rollups_match, daily, expected_rollups, histogram, stored_rollups

BEFORE = "0004_login_throttle"
TARGET = "0005_usage_rollups"
T0 = dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.timezone.utc)  # near a day and a month boundary


def log(n: int, **overrides) -> dict:
    """A varied record: categories, providers, statuses and response times on bin edges."""
    times = [None, 0.0, 0.0005, 0.001, 0.00102, 0.25, 1.0, 30.0, 86400.0]
    record = {
        "provider": ["openai", "video", "mistral", "gemini"][n % 4],
        "model_used": ["gpt-4o", "wavespeed-ai/wan-2.2", "openai/gpt-oss-120b:groq", None][n % 4],
        "endpoint": None,
        "tokens_input": 10 * n,
        "tokens_output": n % 5,
        "cost_total": str(Decimal("0.00000001") * (n * 7919 % 1000) + Decimal(n % 3)),
        "status_code": [200, 201, 429, 500, None, 299, 300][n % 7],
        "retry_count": n % 3,
        "response_time": times[n % len(times)],
        "timestamp": (T0 + dt.timedelta(minutes=37 * n)).isoformat(),
    }
    record.update(overrides)
    return record


@pytest.fixture
def before_app(app_at_revision):
    """An app on a new database migrated to the revision before the rollups."""
    return app_at_revision(BEFORE)


def add_user(email: str) -> int:
    with db.engine.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO users (email, is_admin, created_at) VALUES (:e, false, :t) RETURNING id"
        ), {"e": email, "t": T0.replace(tzinfo=None)}).scalar_one()


def insert_raw(user_id: int, count: int) -> None:
    """Rows the way an old deployment's SQL wrote them (no app code on the way)."""
    rows = []
    for n in range(count):
        r = log(n)
        rows.append({
            "user_id": user_id, "provider": r["provider"], "model_used": r["model_used"], "method": "POST",
            "actual_provider_name": ["openai", None, "huggingface", "google"][n % 4],
            "tokens_input": r["tokens_input"], "tokens_output": r["tokens_output"],
            "tokens_total": r["tokens_input"] + r["tokens_output"],
            "cost_input": 0, "cost_output": 0, "cost_total": n * 3,  # integer units on SQLite, plain numbers on PostgreSQL
            "response_time": r["response_time"], "status_code": r["status_code"], "retry_count": r["retry_count"],
            "timestamp": (T0 + dt.timedelta(minutes=37 * n)).replace(tzinfo=None), "billing_period": "2026-03",
            "created_at": T0.replace(tzinfo=None),
        })
    columns = ", ".join(rows[0])
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO api_usage_logs ({columns}) VALUES ({', '.join(':' + c for c in rows[0])})"), rows)


def test_upgrade_rolls_up_existing_rows_and_downgrade_removes_everything(before_app):
    insert_raw(add_user("a@example.com"), 120)
    insert_raw(add_user("b@example.com"), 15)

    upgrade(revision=TARGET)
    assert_rollups_match(db.engine)
    with db.engine.connect() as conn:
        sums, hist = stored_rollups(conn)
    assert sum(v[0] for v in sums.values()) == 135
    assert sum(hist.values()) == sum(1 for count in (120, 15) for n in range(count) if n % 9)  # every 9th has no time
    assert len({k[1] for k in sums}) > 3 and len({k[1] for k in hist}) >= 2  # several days and months

    downgrade(revision=BEFORE)
    tables = set(sa.inspect(db.engine).get_table_names())
    assert not tables & {"usage_daily_rollups", "latency_monthly_histogram", "latency_bins"}
    insert_raw(add_user("c@example.com"), 3)  # no trigger left behind to fail on a missing table

    upgrade(revision=TARGET)
    assert_rollups_match(db.engine)


def test_latency_bins_are_two_percent_wide_from_one_millisecond_to_a_day(app):
    """The bins the histogram counts in (binning by bisect in tests/fixtures/rollups.py relies on this shape)."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT bin, lower_seconds, upper_seconds FROM latency_bins ORDER BY bin")).all()
    # Bin 0 is [0, 1 ms); then 1 ms * 1.02^k for every k that stays at or below a day.
    geometric = 1 + math.floor(math.log(86400 / 0.001) / math.log(1.02))
    assert [r.bin for r in rows] == list(range(1 + geometric))
    assert rows[0].lower_seconds == 0.0
    for k, row in enumerate(rows[1:]):
        assert math.isclose(row.lower_seconds, 0.001 * 1.02 ** k, rel_tol=1e-9), row
    for low, high in zip(rows, rows[1:]):
        assert low.upper_seconds == high.lower_seconds  # no gaps, no overlaps
    assert rows[-1].upper_seconds is None and rows[-1].lower_seconds <= 86400 < rows[-1].lower_seconds * 1.02


def test_every_write_path_keeps_the_rollups_exact(app, make_user):
    alice, bob = make_user(), make_user()

    record_usage([log(n) for n in range(40)], default_user_id=alice.id)  # the recording service
    record_usage([log(n) for n in range(9)], default_user_id=bob.id)
    assert_rollups_match(db.engine)

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # the attribution engine
        report = attribute_rows(conn, lambda category, model, endpoint: f"moved-{category}", batch_size=7)
    assert report.rows_changed == 49
    assert_rollups_match(db.engine)

    with db.engine.begin() as conn:  # an operator's SQL: every rolled-up column, then deletes
        conn.execute(sa.text("UPDATE api_usage_logs SET cost_total = cost_total + 5, tokens_total = tokens_total + 1, "
                             "retry_count = retry_count + 1 WHERE id % 3 = 0"))
        conn.execute(sa.text("UPDATE api_usage_logs SET status_code = 200, response_time = 2.5 WHERE id % 4 = 1"))
        conn.execute(sa.text("UPDATE api_usage_logs SET response_time = NULL WHERE id % 5 = 2"))
        conn.execute(sa.text("UPDATE api_usage_logs SET user_id = :bob WHERE id % 6 = 5"), {"bob": bob.id})
        conn.execute(sa.text("UPDATE api_usage_logs SET actual_provider_name = NULL WHERE id % 7 = 3"))
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_usage_logs SET timestamp = :t WHERE id % 8 = 2"),
                     {"t": dt.datetime(2025, 12, 31, 23, 59, 59)})
        conn.execute(sa.text("DELETE FROM api_usage_logs WHERE id % 5 = 0"))
    assert_rollups_match(db.engine)

    with db.engine.begin() as conn:  # a user delete cascades to the logs and to the rollups
        conn.execute(sa.text("DELETE FROM users WHERE id = :bob"), {"bob": bob.id})
    assert_rollups_match(db.engine)
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(daily).where(daily.c.user_id == bob.id)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(histogram).where(histogram.c.user_id == bob.id)).scalar() == 0

    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM api_usage_logs"))
    with db.engine.connect() as conn:
        assert stored_rollups(conn) == ({}, {})  # nothing left over, not even rows of zeros


def test_the_check_can_fail(app, make_user):
    """A rollup that drifts from the raw rows is caught by the comparison the app fixture runs."""
    user = make_user()
    record_usage([log(1)], default_user_id=user.id)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE usage_daily_rollups SET calls = calls + 1"))
    with pytest.raises(AssertionError, match="usage_daily_rollups"):
        assert_rollups_match(db.engine)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE usage_daily_rollups SET calls = calls - 1"))
        conn.execute(sa.text("UPDATE latency_monthly_histogram SET bin = bin + 1"))
    with pytest.raises(AssertionError, match="latency_monthly_histogram"):
        assert_rollups_match(db.engine)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE latency_monthly_histogram SET bin = bin - 1"))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 500), st.integers(1, 6)),
        st.tuples(st.just("move"), st.integers(0, 3), st.sampled_from(["openai", None, "fal", "google"])),
        st.tuples(st.just("shift"), st.integers(0, 3), st.integers(-3000, 3000)),
        st.tuples(st.just("delete"), st.integers(2, 5), st.integers(0, 4)),
    ),
    min_size=1, max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_random_sequences_of_writes(app, make_user, ops):
    user = make_user()
    for op, a, b in ops:
        if op == "insert":
            record_usage([log(a + i) for i in range(b)], default_user_id=user.id)
        elif op == "move":
            with db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE api_usage_logs SET actual_provider_name = :p WHERE id % 4 = :a"), {"p": b, "a": a})
        elif op == "shift":  # minutes: moves rows across days and months
            with db.engine.begin() as conn:
                rows = conn.execute(sa.text("SELECT id, timestamp FROM api_usage_logs WHERE id % 4 = :a"), {"a": a}).all()
                for row_id, ts in rows:
                    ts = ts if isinstance(ts, dt.datetime) else dt.datetime.fromisoformat(ts)
                    conn.execute(sa.text("UPDATE api_usage_logs SET timestamp = :t WHERE id = :i"),
                                 {"t": ts + dt.timedelta(minutes=b), "i": row_id})
        else:
            with db.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM api_usage_logs WHERE id % :a = :b"), {"a": a, "b": b % a})
    assert_rollups_match(db.engine)
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM api_usage_logs"))


def test_concurrent_writers_keep_the_rollups_exact(app, make_user):
    """Writers on the same keys at once (row locks on PostgreSQL, the write lock on SQLite): no deadlock, no drift."""
    users = [make_user().id for _ in range(2)]
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with app.app_context():
                for _ in range(8):
                    batch = [log(rng.randrange(60)) for _ in range(rng.randrange(1, 12))]
                    record_usage(batch, default_user_id=rng.choice(users))
                    if rng.random() < 0.3:
                        with db.engine.begin() as conn:
                            conn.execute(sa.text("UPDATE api_usage_logs SET actual_provider_name = :p WHERE id % 3 = :m"),
                                         {"p": rng.choice(["a", "b", None]), "m": rng.randrange(3)})
                db.session.remove()
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with db.engine.connect() as conn:
        expected = expected_rollups(conn)
    assert sum(v[0] for v in expected[0].values()) > 0
    assert_rollups_match(db.engine)


def test_rollups_check_and_rebuild_commands(app, make_user, runner):
    user = make_user()
    record_usage([log(n) for n in range(30)], default_user_id=user.id)
    result = runner.invoke(args=["usage", "rollups", "check"])
    assert result.exit_code == 0 and "match" in result.output, result.output

    # Drift the way a restore with triggers disabled would: rows the triggers never saw, a stale rollup.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE usage_daily_rollups SET cost = cost + 1 WHERE calls > 1"))
        conn.execute(sa.text("DELETE FROM latency_monthly_histogram WHERE bin > 0"))
    result = runner.invoke(args=["usage", "rollups", "check"])
    assert result.exit_code == 1
    assert "usage_daily_rollups: 0 rows" not in result.output and "latency_monthly_histogram: 0 rows" not in result.output

    result = runner.invoke(args=["usage", "rollups", "rebuild"])
    assert result.exit_code == 0 and "match" in result.output, result.output
    assert_rollups_match(db.engine)  # the independent Python computation agrees
