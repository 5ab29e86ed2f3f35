"""The recording service: attribution at write time, derived fields, all-or-nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import APIUsageLog
from portal.usage import record_usage
from portal.usage.recording import NotAllowed
from portal.usage.validation import InvalidInput


def count_logs() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(APIUsageLog))


def test_record_stores_actual_provider_and_derived_fields(make_user):
    user = make_user()
    [row] = record_usage({
        "user_id": user.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video",
        "endpoint": "/video-generation/wavespeed", "tokens_input": 7, "tokens_output": 5,
        "cost_input": Decimal("0.10000001"), "cost_output": Decimal("0.2"),
        "timestamp": "2026-11-30T23:59:59Z",
    })
    db.session.expire_all()
    stored = db.session.get(APIUsageLog, row.id)
    assert stored.actual_provider_name == "wavespeed"
    assert stored.tokens_total == 12
    assert stored.cost_total == Decimal("0.30000001")
    assert stored.billing_period == "2026-11"
    assert stored.timestamp == dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.timezone.utc)


def test_default_user_fills_records_without_user_id(make_user):
    user = make_user()
    [row] = record_usage({"provider": "gemini", "model_used": "gemini-2.5-flash"}, default_user_id=user.id)
    assert row.user_id == user.id
    assert row.actual_provider_name == "google"


def test_bad_record_in_batch_writes_nothing(make_user):
    user = make_user()
    good = {"user_id": user.id, "provider": "openai", "model_used": "gpt-4o"}
    with pytest.raises(InvalidInput) as info:
        record_usage([good, good, {"user_id": user.id, "provider": "openai", "tokens_input": -1}])
    assert [e.field for e in info.value.errors] == ["[2].tokens_input"]
    assert count_logs() == 0


def test_unknown_user_is_named(make_user):
    user = make_user()
    with pytest.raises(InvalidInput) as info:
        record_usage([{"user_id": user.id, "provider": "openai"}, {"user_id": user.id + 999, "provider": "openai"}])
    assert info.value.errors[0].field == "[1].user_id"
    assert count_logs() == 0


def test_caller_limited_to_own_account(make_user):
    me, other = make_user(), make_user()
    with pytest.raises(NotAllowed):
        record_usage({"user_id": other.id, "provider": "openai"}, allowed_user_ids=frozenset({me.id}))
    assert count_logs() == 0


def test_missing_user_without_default(make_user):
    with pytest.raises(InvalidInput) as info:
        record_usage({"provider": "openai"})
    assert info.value.errors[0].field == "user_id"


def test_money_round_trips_exactly(make_user):
    user = make_user()
    amounts = ["0.00000001", "9999999999.99999999", "0.1", "0.2", "1234.5678"]
    for amount in amounts:
        record_usage({"user_id": user.id, "provider": "openai", "cost_total": amount})
    total = db.session.scalar(sa.select(sa.func.sum(APIUsageLog.cost_total)))
    assert total == sum(Decimal(a) for a in amounts)


def test_idempotency_key_prevents_double_billing(make_user):
    user = make_user()
    record = {"user_id": user.id, "provider": "openai", "model_used": "gpt-4o", "cost_total": "1.25", "idempotency_key": "req-1"}
    first = record_usage(record)
    again = record_usage([record, {**record, "idempotency_key": "req-2"}])
    assert first.created == 1 and again.created == 1
    assert again.rows[0].id == first.rows[0].id
    assert count_logs() == 2
    total = db.session.scalar(sa.select(sa.func.sum(APIUsageLog.cost_total)))
    assert total == Decimal("2.50")


def test_same_key_for_two_users_is_two_records(make_user):
    a, b = make_user(), make_user()
    record_usage({"user_id": a.id, "provider": "openai", "idempotency_key": "k"})
    record_usage({"user_id": b.id, "provider": "openai", "idempotency_key": "k"})
    assert count_logs() == 2


def test_key_repeated_inside_one_batch_is_an_error(make_user):
    user = make_user()
    with pytest.raises(InvalidInput) as info:
        record_usage([{"user_id": user.id, "provider": "openai", "idempotency_key": "k"}] * 2)
    assert info.value.errors[0].field == "[1].idempotency_key"
    assert count_logs() == 0
