"""The add-and-backfill revision, on a database that holds legacy rows.

Expected providers are written by hand from the attribution contract, not
computed with the detector.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, stamp, upgrade

from portal.dbtypes import ExactMoney
from portal.extensions import db

BEFORE = "0001_initial_schema"
TARGET = "0002_add_actual_provider_name"

# (category, model_used, endpoint) -> the provider that actually served it.
LEGACY = [
    (("video", "alibaba/wan-2.5/text-to-video", "/video-generation/wavespeed"), "wavespeed"),
    (("stability", "qwen-image", "/image-generation/wavespeed"), "wavespeed"),
    (("audio", "minimax/speech-02-hd", "/audio-generation/wavespeed"), "wavespeed"),
    (("gemini", "gemini-2.5-flash", None), "google"),
    (("mistral", "openai/gpt-oss-120b:groq", None), "huggingface"),
    (("openai", "gpt-4o", "https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions"), "azure"),
    (("anthropic", "anthropic.claude-3-5-sonnet-20240620-v1:0", None), "bedrock"),
    (("openai", "gpt-4o-mini", "https://api.openai.com/v1/chat/completions"), "openai"),
    (("tavily", None, None), "tavily"),
    (("openai", None, ""), "openai"),
    (("mistral", "meta-llama/Llama-3.1-8B-Instruct", None), "huggingface"),
    (("stability", "sd3.5-large", "/image-generation/stability"), "stability"),
]

MONEY_COLUMNS = {"cost_input", "cost_output", "cost_total"}
legacy_logs = sa.table(
    "api_usage_logs",
    *(sa.column(name, ExactMoney() if name in MONEY_COLUMNS else None) for name in (
        "id", "user_id", "provider", "endpoint", "method", "model_used", "tokens_input", "tokens_output",
        "tokens_total", "cost_input", "cost_output", "cost_total", "response_time", "status_code",
        "error_message", "retry_count", "request_size", "response_size", "timestamp", "billing_period",
        "created_at",
    )),
)
users = sa.table("users", sa.column("id"), sa.column("email"), sa.column("password_hash"),
                 sa.column("is_admin"), sa.column("created_at"))


@pytest.fixture
def legacy_app(app_at_revision):
    """An app on a new database migrated only to the pre-column revision."""
    return app_at_revision(BEFORE)


def insert_legacy_rows(copies: int = 3) -> list[dict]:
    """Rows as an old deployment wrote them (no actual_provider_name), in a shuffled order."""
    now = dt.datetime(2026, 10, 15, 12, 0, 0)
    rows = []
    for copy in range(copies):
        for n, ((category, model, endpoint), _) in enumerate(LEGACY):
            rows.append({
                "user_id": 1, "provider": category, "endpoint": endpoint, "method": "POST", "model_used": model,
                "tokens_input": 10 * n, "tokens_output": copy, "tokens_total": 10 * n + copy,
                "cost_input": Decimal("0.00000001") * n, "cost_output": Decimal("1.5"), "cost_total": Decimal("1.5") + Decimal("0.00000001") * n,
                "response_time": 0.25 * n, "status_code": 200 if n % 4 else 500, "error_message": None if n % 4 else "boom",
                "retry_count": copy, "request_size": None, "response_size": 100 + n,
                "timestamp": now - dt.timedelta(hours=n + copy), "billing_period": "2026-10", "created_at": now,
            })
    with db.engine.begin() as conn:
        conn.execute(users.insert().values(id=1, email="legacy@example.com", password_hash=None, is_admin=False, created_at=now))
        conn.execute(legacy_logs.insert(), rows)
    return rows


def snapshot() -> dict[int, dict]:
    """Every row, every column, keyed by id."""
    table = sa.Table("api_usage_logs", sa.MetaData(), autoload_with=db.engine)
    with db.engine.connect() as conn:
        return {row["id"]: dict(row) for row in conn.execute(sa.select(table)).mappings()}


def expected_provider(row: dict) -> str:
    """The hand-written answer for a row's triple."""
    key = (row["provider"], row["model_used"], row["endpoint"])
    return dict(LEGACY)[key]


def test_upgrade_adds_column_and_backfills_every_row(legacy_app):
    insert_legacy_rows()
    before = snapshot()
    assert all("actual_provider_name" not in row for row in before.values())

    upgrade(revision=TARGET)

    after = snapshot()
    assert after.keys() == before.keys()
    for row_id, old in before.items():
        new = dict(after[row_id])
        assert new.pop("actual_provider_name") == expected_provider(old), old
        assert new == old  # every other column untouched


def test_rerun_on_half_backfilled_database_finishes_the_job(legacy_app):
    insert_legacy_rows()
    upgrade(revision=TARGET)
    # Simulate a run killed mid-way: some rows lost their value, and the stamp went back.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_usage_logs SET actual_provider_name = NULL WHERE id % 2 = 0"))
        conn.execute(sa.text("UPDATE api_usage_logs SET actual_provider_name = 'stale' WHERE id = 3"))
    stamp(revision=BEFORE)

    upgrade(revision=TARGET)  # the column already exists: must not fail, must complete the backfill

    after = snapshot()
    assert all(row["actual_provider_name"] == expected_provider(row) for row in after.values())


def test_second_upgrade_is_a_no_op(legacy_app):
    insert_legacy_rows()
    upgrade(revision=TARGET)
    first = snapshot()
    stamp(revision=BEFORE)
    upgrade(revision=TARGET)
    assert snapshot() == first


def test_downgrade_then_upgrade(legacy_app):
    rows = insert_legacy_rows()
    upgrade(revision=TARGET)
    downgrade(revision=BEFORE)
    down = snapshot()
    assert len(down) == len(rows)
    assert all("actual_provider_name" not in row for row in down.values())
    index_names = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("api_usage_logs")}
    assert "ix_api_usage_logs_user_actual_ts" not in index_names

    upgrade(revision=TARGET)
    after = snapshot()
    assert all(row["actual_provider_name"] == expected_provider(row) for row in after.values())
    index_names = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("api_usage_logs")}
    assert "ix_api_usage_logs_user_actual_ts" in index_names


def test_empty_database_upgrades(legacy_app):
    upgrade(revision=TARGET)
    assert "actual_provider_name" in {c["name"] for c in sa.inspect(db.engine).get_columns("api_usage_logs")}


def test_backfill_commits_in_batches(legacy_app, monkeypatch):
    """Small batches: every batch is its own statement and all rows still end right."""
    import portal.usage.attribution as attribution

    monkeypatch.setattr(attribution, "DEFAULT_BATCH_SIZE", 5)
    insert_legacy_rows(copies=4)  # 48 rows -> 10 id ranges
    upgrade(revision=TARGET)
    after = snapshot()
    assert all(row["actual_provider_name"] == expected_provider(row) for row in after.values())


def test_whole_chain_down_and_up(legacy_app):
    """Every revision downgrades and upgrades again, with the legacy rows intact."""
    rows = insert_legacy_rows(copies=1)
    upgrade()
    downgrade(revision=BEFORE)
    upgrade()
    after = snapshot()
    assert len(after) == len(rows)
    assert all(row["actual_provider_name"] == expected_provider(row) and row["idempotency_key"] is None for row in after.values())
