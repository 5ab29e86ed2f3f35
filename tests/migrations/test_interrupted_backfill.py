"""A backfill killed mid-way loses nothing: the re-run finishes, no row lost or duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal.extensions import db
from tests.migrations.test_add_actual_provider_name import (
    BEFORE, TARGET, expected_provider, insert_legacy_rows, legacy_app, snapshot,  # noqa: F401  (fixture)
)

ROOT = Path(__file__).resolve().parents[2]


def version() -> str:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()


def test_killed_upgrade_resumes_and_finishes(legacy_app):
    rows = insert_legacy_rows(copies=200)  # 2,400 rows
    before = snapshot()
    env = {**os.environ, "DATABASE_URL": legacy_app.config["SQLALCHEMY_DATABASE_URI"], "BACKFILL_BATCH_SIZE": "20",
           "SECRET_KEY": "x", "PYTHONUNBUFFERED": "1"}
    db.engine.dispose()
    seen = []
    with subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade", TARGET],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as proc:
        for line in proc.stdout:
            seen.append(line)
            if "backfill batch 5/" in line:
                proc.send_signal(signal.SIGKILL)  # no chance to clean up, as with an OOM kill or a lost host
                break
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)

    # The stamp was not written, yet the finished batches are durable.
    assert version() == BEFORE
    partial = snapshot()
    done = sum(1 for row in partial.values() if row["actual_provider_name"] is not None)
    assert 0 < done < len(rows)

    upgrade(revision=TARGET)
    after = snapshot()
    assert after.keys() == before.keys()
    for row_id, old in before.items():
        new = dict(after[row_id])
        assert new.pop("actual_provider_name") == expected_provider(old)
        assert new == old
    assert version() == TARGET


def test_interrupted_redetect_resumes(legacy_app, monkeypatch):
    """The CLI's re-detection, interrupted after some batches, then run again."""
    import portal.usage.attribution as attribution

    insert_legacy_rows(copies=50)
    upgrade(revision=TARGET)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_usage_logs SET actual_provider_name = 'stale'"))

    calls = {"n": 0}
    real = attribution._update_statement

    def failing(source, low, high):
        calls["n"] += 1
        if calls["n"] == 4:  # three batches are done and committed
            raise KeyboardInterrupt("operator pressed Ctrl-C")
        return real(source, low, high)

    monkeypatch.setattr(attribution, "_update_statement", failing)
    runner = legacy_app.test_cli_runner()
    result = runner.invoke(args=["providers", "redetect", "--batch-size", "100"])
    assert result.exit_code != 0
    partial = snapshot()
    assert 0 < sum(1 for r in partial.values() if r["actual_provider_name"] == "stale") < len(partial)

    monkeypatch.setattr(attribution, "_update_statement", real)
    result = runner.invoke(args=["providers", "redetect", "--batch-size", "100"])
    assert result.exit_code == 0, result.output
    after = snapshot()
    assert len(after) == len(partial)
    assert all(row["actual_provider_name"] == expected_provider(row) for row in after.values())
