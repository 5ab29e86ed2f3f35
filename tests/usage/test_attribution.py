"""The attribution engine shared by the backfill migration and ``flask providers redetect``."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import APIUsageLog
from portal.usage import record_usage
from portal.usage.attribution import attribute_rows


def seed(user_id: int) -> None:
    """12 rows over 4 distinct triples (one with NULL model and endpoint)."""
    triples = [("video", "m-a", "/e1"), ("video", "m-b", None), ("audio", None, None), ("openai", "gpt-4o", "/e2")]
    record_usage([{"user_id": user_id, "provider": c, "model_used": m, "endpoint": e} for _ in range(3) for c, m, e in triples])


def values() -> list[str | None]:
    return list(db.session.scalars(sa.select(APIUsageLog.actual_provider_name).order_by(APIUsageLog.id)))


class CountingDetector:
    """A detection rule written for the test, counting its calls."""

    def __init__(self, table: dict):
        self.table = table
        self.calls = []

    def __call__(self, category, model, endpoint):
        self.calls.append((category, model, endpoint))
        return self.table.get((category, model))


def autocommit():
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def test_detects_once_per_distinct_triple_and_updates_set_wise(make_user):
    seed(make_user().id)
    detect = CountingDetector({("video", "m-a"): "wavespeed", ("video", "m-b"): "google", ("audio", None): "elevenlabs"})
    with autocommit() as conn:
        report = attribute_rows(conn, detect, batch_size=2)
    assert len(detect.calls) == 4 == report.detector_calls == report.triples
    assert report.rows == 12
    db.session.expire_all()
    assert values() == ["wavespeed", "google", "elevenlabs", None] * 3
    # Before: what record_usage stored with the real detector; after: the test's rules.
    assert report.rows_changed == report.rows_to_change == sum(report.transitions.values())
    assert report.batches == 6


def test_dry_run_writes_nothing(make_user):
    seed(make_user().id)
    before = values()
    with autocommit() as conn:
        report = attribute_rows(conn, CountingDetector({}), dry_run=True)
    db.session.expire_all()
    assert values() == before
    assert report.rows_changed == 0
    assert report.rows_to_change == sum(1 for v in before if v is not None)
    assert {new for (_, new) in report.transitions} == {None}


def test_rerun_changes_nothing(make_user):
    seed(make_user().id)
    detect = CountingDetector({("video", "m-a"): "fal"})
    with autocommit() as conn:
        attribute_rows(conn, detect)
        again = attribute_rows(conn, detect)
    assert again.rows_changed == 0 and again.rows_to_change == 0 and not again.transitions


def test_transitions_count_rows_from_what_to_what(make_user):
    seed(make_user().id)
    with autocommit() as conn:
        attribute_rows(conn, CountingDetector({("video", "m-a"): "x1", ("video", "m-b"): "x1"}))
        report = attribute_rows(conn, CountingDetector({("video", "m-a"): "x2", ("video", "m-b"): "x1", ("audio", None): "x3"}))
    assert dict(report.transitions) == {("x1", "x2"): 3, (None, "x3"): 3}


def test_empty_table(app):
    with autocommit() as conn:
        report = attribute_rows(conn, CountingDetector({}))
    assert report.rows == 0 and report.detector_calls == 0
