"""Hostile strings reach the validator and the database: stored as sent or rejected, never a crash."""

from __future__ import annotations

import json

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import APIUsageLog, User

SQL = ["'; DROP TABLE users; --", "\" OR 1=1 --", "1); DELETE FROM api_usage_logs; --", "%' AND '%'='", "\\'; SELECT pg_sleep(5); --"]
ODD = ["\u202egnp.exe", "\u200f\u200e", "👩🏽‍💻🚀", "\x00", "\ud800", "a\x1b[31mred", "\u0000\u0001\u0002", "ＡＰＩ", "\ufeff"]
hostile = st.one_of(
    st.sampled_from(SQL + ODD),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x20), max_size=20),
)
FIELDS = ("model_used", "endpoint", "error_message", "method", "idempotency_key")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(field=st.sampled_from(FIELDS), value=hostile)
@example(field="model_used", value="x" * 1_000_000)
@example(field="endpoint", value=SQL[0])
@example(field="model_used", value="\ud800")
@example(field="error_message", value="line one\nline two\t\u202e")
def test_hostile_strings_are_stored_verbatim_or_rejected(client, make_user, token_for, field, value):
    user = db.session.scalar(sa.select(User).where(User.email == "fuzz@example.com")) or make_user("fuzz@example.com")
    headers = token_for(user)
    body = json.dumps({"provider": "openai", field: value}, ensure_ascii=True)  # lone surrogates survive as \\ud800
    response = client.post("/api/subscription/usage-logs", headers=headers, data=body, content_type="application/json")
    assert response.status_code in (201, 200, 400, 413), response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        if response.status_code == 400:
            assert response.json["errors"][0]["field"] in (field, "body")
        return
    stored = db.session.get(APIUsageLog, response.json["id"])
    expected = value.strip() or None
    if field == "method" and expected:
        expected = expected.upper()
    assert getattr(stored, field) == expected
    # Nothing was executed: the tables are all still there.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(params=st.dictionaries(
    st.sampled_from(["provider", "actual_provider", "model", "status", "start", "end", "billing_period", "limit", "offset", "cursor", "user_id"]),
    hostile.filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF for c in text)), max_size=4))
def test_hostile_query_parameters_never_crash(client, make_user, token_for, params):
    user = db.session.scalar(sa.select(User).where(User.email == "fuzzq@example.com")) or make_user("fuzzq@example.com")
    response = client.get("/api/subscription/usage-logs", headers=token_for(user), query_string=params)
    assert response.status_code in (200, 400, 403), response.get_data(as_text=True)[:500]
    page = client.get("/billing/usage-logs", headers=token_for(user), query_string=params)
    assert page.status_code < 500
