"""A short load test: gunicorn on 127.0.0.1, concurrent readers and ingesting writers (issue 5).

The backend under test comes from ``make_database`` (a SQLite file, or a
throwaway PostgreSQL database when ``TEST_DATABASE_URL`` is set). The full run
with the README's figures is ``python -m bench.load``.
"""

from __future__ import annotations

import sqlalchemy as sa

from bench.load import LoadSettings, run_load, verify


def test_readers_and_writers_under_gunicorn_lose_and_duplicate_nothing(make_database, tmp_path):
    url = make_database()
    settings = LoadSettings(seconds=5, readers=4, writers=2, workers=2, batch=20, seed_rows=500,
                            max_requests=20_000)

    result = run_load(url, settings, log_dir=tmp_path / "logs")
    report = result.table()

    assert result.server_errors == 0, report
    assert result.transport_errors == 0, report
    assert result.lost == 0 and result.duplicated == 0, report
    assert result.altered == 0 and result.phantom == 0 and result.ack_id_conflicts == 0, report
    assert not result.replay_anomalies and result.cursor_repeats == 0, report
    assert result.ok, report
    # Both sides made progress, and the retries were really exercised.
    assert result.read.requests >= 20 and result.cursor_pages >= 1, report
    assert result.write.requests >= 5 and result.batches_acked >= 5, report
    assert result.keys_acked == result.keys_sent > 0, report
    assert result.stored_rows == result.keys_acked + settings.seed_rows, report
    assert result.abandoned >= 1 and result.replays >= 1, report


def test_the_check_notices_a_lost_record(make_database, tmp_path):
    """The verification is not vacuous: remove one acknowledged row and it is reported lost."""
    url = make_database()
    settings = LoadSettings(seconds=1, readers=1, writers=1, workers=1, batch=5, seed_rows=10)
    result = run_load(url, settings, log_dir=tmp_path / "logs")
    assert result.ok and result.keys_acked > 0, result.table()

    victim = next(iter(result.ledger.acked.values()))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM api_usage_logs WHERE id = :id"), {"id": victim})
    finally:
        engine.dispose()
    verify(url, result.user_id, result.ledger, result)

    assert result.lost == 1
    assert not result.ok
    assert "missing from the database" in " ".join(result.failures())
