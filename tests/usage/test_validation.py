"""The one validator: errors name the field; money stays exact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal.providers.categories import APIProvider
from portal.usage.validation import InvalidInput, validate_record, validate_records


def fields(exc: InvalidInput) -> dict[str, str]:
    return {e.field: e.message for e in exc.errors}


def test_minimal_record_defaults():
    record = validate_record({"provider": "video"})
    assert record.provider is APIProvider.VIDEO
    assert record.tokens_total == 0
    assert record.cost_total == Decimal("0")
    assert record.timestamp is None


def test_category_in_any_case_and_whitespace():
    assert validate_record({"provider": "  ViDeO "}).provider is APIProvider.VIDEO


def test_cost_total_defaults_to_exact_sum():
    record = validate_record({"provider": "openai", "cost_input": Decimal("0.1"), "cost_output": Decimal("0.2")})
    assert record.cost_total == Decimal("0.3")


def test_money_accepts_strings_and_keeps_every_digit():
    record = validate_record({"provider": "openai", "cost_total": "12345.12345678"})
    assert record.cost_total == Decimal("12345.12345678")


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("provider", "videos", "must be one of"),
        ("cost_total", Decimal("-1"), "must not be negative"),
        ("cost_input", Decimal("0.000000001"), "at most 8 decimal places"),
        ("cost_output", "abc", "decimal"),
        ("cost_total", True, "boolean"),
        ("tokens_input", -5, "greater than or equal to 0"),
        ("tokens_output", "12", "integer"),
        ("status_code", 999, "less than or equal to 599"),
        ("model_used", "m" * 201, "at most 200"),
        ("endpoint", "/x\x00y", "NUL"),
        ("timestamp", "yesterday", "datetime"),
        ("timestamp", "1999-12-31T00:00:00Z", "before 2000"),
        ("response_time", -0.5, "greater than or equal to 0"),
        ("retry_count", 5000, "less than or equal to 1000"),
        ("method", "GET /x", "HTTP method"),
        ("cost_totl", "1", "not a known field"),
    ],
)
def test_bad_field_is_named(field, value, fragment):
    with pytest.raises(InvalidInput) as info:
        validate_record({"provider": "video", field: value})
    errors = fields(info.value)
    assert field in errors
    assert fragment.lower() in errors[field].lower()


def test_missing_provider_is_named():
    with pytest.raises(InvalidInput) as info:
        validate_record({"model_used": "x"})
    assert "provider" in fields(info.value)


def test_future_timestamp_rejected():
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    with pytest.raises(InvalidInput) as info:
        validate_record({"provider": "video", "timestamp": future})
    assert "future" in fields(info.value)["timestamp"]


def test_naive_timestamp_is_utc():
    record = validate_record({"provider": "video", "timestamp": "2026-11-30T23:30:00"})
    assert record.timestamp == dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone.utc)


def test_offset_timestamp_is_converted_to_utc():
    record = validate_record({"provider": "video", "timestamp": "2026-12-01T01:30:00+02:00"})
    assert record.timestamp == dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone.utc)


def test_batch_errors_carry_the_index():
    with pytest.raises(InvalidInput) as info:
        validate_records([{"provider": "video"}, {"provider": "nope"}, "not an object"])
    errors = fields(info.value)
    assert set(errors) == {"[1].provider", "[2]"}


def test_non_object_record():
    with pytest.raises(InvalidInput) as info:
        validate_record(["provider", "video"])
    assert fields(info.value) == {"body": "must be a JSON object"}
