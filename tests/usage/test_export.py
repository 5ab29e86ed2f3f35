"""CSV export: exactly the filtered rows, exact decimals, UTC, formulas neutralised, streamed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from portal.usage import record_usage
from portal.usage import queries

T0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)


def export(client, headers, **params):
    response = client.get("/api/subscription/usage-logs.csv", headers=headers, query_string=params)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.is_streamed
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_exports_exactly_the_filtered_rows(client, make_user, token_for):
    me, other = make_user(), make_user()
    record_usage([{"user_id": me.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video",
                   "endpoint": "/video-generation/wavespeed", "cost_total": "0.12345678",
                   "timestamp": (T0 + dt.timedelta(minutes=i)).isoformat()} for i in range(3)]
                 + [{"user_id": me.id, "provider": "gemini", "model_used": "gemini-2.5-flash", "timestamp": T0.isoformat()}]
                 + [{"user_id": other.id, "provider": "video", "model_used": "theirs"}])
    rows = export(client, token_for(me), actual_provider="wavespeed")
    assert len(rows) == 3
    assert [r["timestamp_utc"] for r in rows] == ["2026-11-01T12:02:00Z", "2026-11-01T12:01:00Z", "2026-11-01T12:00:00Z"]
    assert {r["cost_total"] for r in rows} == {"0.12345678"}
    assert {r["provider_display"] for r in rows} == {"WaveSpeed"} and {r["provider"] for r in rows} == {"video"}
    assert len(export(client, token_for(me))) == 4


def test_formula_injection_is_neutralised(client, make_user, token_for):
    me = make_user()
    record_usage({"user_id": me.id, "provider": "openai", "model_used": "=HYPERLINK(\"http://evil\")",
                  "error_message": "@SUM(A1:A9)", "endpoint": "-2+3", "cost_total": "1"})
    [row] = export(client, token_for(me))
    assert row["model_used"] == "'=HYPERLINK(\"http://evil\")"
    assert row["error_message"] == "'@SUM(A1:A9)"
    assert row["endpoint"] == "'-2+3"
    assert row["cost_total"] == "1"


def test_large_export_streams_in_chunks(client, make_user, token_for, monkeypatch):
    me = make_user()
    record_usage([{"user_id": me.id, "provider": "openai", "cost_total": "0.01",
                   "timestamp": (T0 - dt.timedelta(seconds=i)).isoformat()} for i in range(250)])
    real = queries.iter_logs
    monkeypatch.setattr("portal.api.usage_logs.iter_logs", lambda u, f: real(u, f, chunk=7))
    rows = export(client, token_for(me))
    assert len(rows) == 250 and len({r["id"] for r in rows}) == 250
    assert sum(Decimal(r["cost_total"]) for r in rows) == Decimal("2.50")


def test_export_errors_are_problems(client, make_user, token_for):
    response = client.get("/api/subscription/usage-logs.csv?status=maybe", headers=token_for(make_user()))
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "status"
