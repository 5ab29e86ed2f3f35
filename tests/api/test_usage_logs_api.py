"""``/api/subscription/usage-logs``: auth, isolation, filters, paging, errors, ingestion."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from portal.usage import record_usage

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)

# category, model, endpoint, status, cost, hours after T0 -> expected actual provider
ROWS = [
    ("video", "alibaba/wan-2.5/text-to-video", "/video-generation/wavespeed", 200, "0.50", 1, "wavespeed"),
    ("stability", "qwen-image", "/image-generation/wavespeed", 200, "0.02", 2, "wavespeed"),
    ("audio", "minimax/speech-02-hd", "/audio-generation/wavespeed", 500, "0", 3, "wavespeed"),
    ("gemini", "gemini-2.5-flash", None, 200, "0.0012", 4, "google"),
    ("mistral", "openai/gpt-oss-120b:groq", None, 429, "0", 5, "huggingface"),
    ("stability", "sd3.5-large", "/image-generation/stability", 200, "0.065", 24 * 31, "stability"),
]


@pytest.fixture
def seeded(make_user, token_for):
    """Two users; the first owns ROWS, the second one log of its own."""
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    record_usage([
        {"user_id": alice.id, "provider": c, "model_used": m, "endpoint": e, "status_code": s,
         "cost_total": cost, "timestamp": (T0 + dt.timedelta(hours=h)).isoformat()}
        for c, m, e, s, cost, h, _ in ROWS
    ])
    record_usage({"user_id": bob.id, "provider": "openai", "model_used": "gpt-4o", "timestamp": T0.isoformat()})
    return {"alice": alice, "bob": bob, "alice_h": token_for(alice), "bob_h": token_for(bob)}


def get(client, headers, **params):
    return client.get("/api/subscription/usage-logs", headers=headers, query_string=params)


def test_requires_authentication(client, seeded):
    response = client.get("/api/subscription/usage-logs")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_bad_token_is_401(client, seeded):
    response = get(client, {"Authorization": "Bearer bp_not-a-real-token"})
    assert response.status_code == 401
    response = get(client, {"Authorization": "Basic abc"})
    assert response.status_code == 401


def test_newest_first_with_actual_provider_and_display(client, seeded):
    body = get(client, seeded["alice_h"]).json
    assert body["total_count"] == len(ROWS)
    assert body["has_more"] is False
    newest_first = sorted(ROWS, key=lambda r: -r[5])
    assert [log["model_used"] for log in body["logs"]] == [r[1] for r in newest_first]
    assert [log["actual_provider_name"] for log in body["logs"]] == [r[6] for r in newest_first]
    by_model = {log["model_used"]: log for log in body["logs"]}
    assert by_model["alibaba/wan-2.5/text-to-video"]["provider_display"] == "WaveSpeed"
    assert by_model["alibaba/wan-2.5/text-to-video"]["provider"] == "video"
    assert by_model["gemini-2.5-flash"]["provider_display"] == "Google"
    assert by_model["openai/gpt-oss-120b:groq"]["provider_display"] == "HuggingFace"
    assert by_model["sd3.5-large"]["cost_total"] == "0.065"
    assert by_model["sd3.5-large"]["timestamp"] == "2026-12-02T00:00:00Z"
    assert by_model["sd3.5-large"]["billing_period"] == "2026-12"


def test_users_see_only_their_own_logs(client, seeded):
    body = get(client, seeded["bob_h"]).json
    assert body["total_count"] == 1
    assert body["logs"][0]["user_id"] == seeded["bob"].id


def test_user_id_of_someone_else_is_forbidden_for_non_admins(client, seeded):
    response = get(client, seeded["bob_h"], user_id=seeded["alice"].id)
    assert response.status_code == 403
    assert response.json["errors"][0]["field"] == "user_id"


def test_admin_may_view_another_user(client, seeded, make_user, token_for):
    admin = make_user(admin=True)
    body = get(client, token_for(admin), user_id=seeded["alice"].id).json
    assert body["total_count"] == len(ROWS)
    assert get(client, token_for(admin), user_id=999999).status_code == 404


@pytest.mark.parametrize(
    "params, expected_models",
    [
        ({"provider": "stability"}, {"qwen-image", "sd3.5-large"}),
        ({"provider": "STABILITY"}, {"qwen-image", "sd3.5-large"}),
        ({"actual_provider": "wavespeed"}, {"alibaba/wan-2.5/text-to-video", "qwen-image", "minimax/speech-02-hd"}),
        ({"actual_provider": "huggingface"}, {"openai/gpt-oss-120b:groq"}),
        ({"model": "gemini-2.5-flash"}, {"gemini-2.5-flash"}),
        ({"status": "failed"}, {"minimax/speech-02-hd", "openai/gpt-oss-120b:groq"}),
        ({"status": "success"}, {"alibaba/wan-2.5/text-to-video", "qwen-image", "gemini-2.5-flash", "sd3.5-large"}),
        # half-open: start included, end excluded
        ({"start": "2026-11-01T02:00:00Z", "end": "2026-11-01T04:00:00Z"}, {"qwen-image", "minimax/speech-02-hd"}),
        ({"start": "2026-12-01"}, {"sd3.5-large"}),
        ({"billing_period": "2026-11"}, {"alibaba/wan-2.5/text-to-video", "qwen-image", "minimax/speech-02-hd", "gemini-2.5-flash", "openai/gpt-oss-120b:groq"}),
        ({"provider": "stability", "actual_provider": "wavespeed"}, {"qwen-image"}),
        ({"provider": ""}, {r[1] for r in ROWS}),
    ],
)
def test_filters(client, seeded, params, expected_models):
    body = get(client, seeded["alice_h"], **params).json
    assert {log["model_used"] for log in body["logs"]} == expected_models
    assert body["total_count"] == len(expected_models)


def test_paging(client, seeded):
    newest_first = [r[1] for r in sorted(ROWS, key=lambda r: -r[5])]
    seen = []
    offset = 0
    while True:
        body = get(client, seeded["alice_h"], limit=4, offset=offset).json
        assert body["limit"] == 4 and body["offset"] == offset
        seen += [log["model_used"] for log in body["logs"]]
        if not body["has_more"]:
            break
        offset += 4
    assert seen == newest_first


def test_limit_is_capped(client, seeded, app):
    app.config["API_MAX_PAGE_SIZE"] = 2
    body = get(client, seeded["alice_h"], limit=1000).json
    assert body["limit"] == 2 and len(body["logs"]) == 2 and body["has_more"] is True


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": "ten"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"provider": "huggingface"}, "provider"),
        ({"status": "broken"}, "status"),
        ({"start": "last tuesday"}, "start"),
        ({"start": "2026-11-02", "end": "2026-11-01"}, "end"),
        ({"billing_period": "2026-13"}, "billing_period"),
        ({"actual_provider": "Wave Speed!"}, "actual_provider"),
        ({"user_id": "abc"}, "user_id"),
    ],
)
def test_invalid_parameters_answer_400_naming_them(client, seeded, params, field):
    response = get(client, seeded["alice_h"], **params)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.json["errors"]]


def post(client, headers, body, raw=False):
    data = body if raw else json.dumps(body)
    return client.post("/api/subscription/usage-logs", headers=headers, data=data, content_type="application/json")


def test_post_one_record(client, seeded):
    response = post(client, seeded["bob_h"], {"provider": "video", "model_used": "alibaba/wan-2.5/text-to-video",
                                             "endpoint": "/video-generation/wavespeed", "cost_total": 0.1})
    assert response.status_code == 201
    assert response.json["actual_provider_name"] == "wavespeed"
    assert response.json["user_id"] == seeded["bob"].id
    # 0.1 in JSON is stored as exactly 0.1, not 0.1000000000000000055...
    assert response.json["cost_total"] == "0.1"


def test_post_batch_is_all_or_nothing(client, seeded):
    bad = post(client, seeded["bob_h"], [{"provider": "openai"}, {"provider": "openai", "cost_total": -2}])
    assert bad.status_code == 400
    assert bad.json["errors"] == [{"field": "[1].cost_total", "message": "must not be negative"}]
    assert get(client, seeded["bob_h"]).json["total_count"] == 1
    good = post(client, seeded["bob_h"], [{"provider": "openai"}, {"provider": "anthropic", "model_used": "claude-sonnet-4-20250514"}])
    assert good.status_code == 201 and good.json["count"] == 2
    assert get(client, seeded["bob_h"]).json["total_count"] == 3


def test_post_for_another_user_is_forbidden(client, seeded):
    response = post(client, seeded["bob_h"], {"provider": "openai", "user_id": seeded["alice"].id})
    assert response.status_code == 403
    assert response.json["errors"][0]["field"] == "user_id"


def test_post_needs_ingest_scope(client, seeded, token_for):
    response = post(client, token_for(seeded["bob"], scopes=("read",)), {"provider": "openai"})
    assert response.status_code == 403


@pytest.mark.parametrize("body", ["{not json", "42", "[]", '"text"'])
def test_post_malformed_bodies(client, seeded, body):
    response = post(client, seeded["bob_h"], body, raw=True)
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "body"


def test_post_with_session_cookie_is_refused(client, seeded, login):
    login(seeded["bob"])
    response = client.post("/api/subscription/usage-logs", json={"provider": "openai"})
    assert response.status_code == 403


def test_unknown_api_route_is_problem_json(client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_method_not_allowed_is_problem_json(client, seeded):
    response = client.delete("/api/subscription/usage-logs", headers=seeded["bob_h"])
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_keyset_paging_visits_every_row_once(client, seeded, make_user):
    # Rows sharing one timestamp must still be split correctly between pages (ties broken by id).
    alice = seeded["alice"]
    record_usage([{"user_id": alice.id, "provider": "openai", "model_used": f"tie-{i}", "timestamp": T0.isoformat()} for i in range(5)])
    expected = [log["id"] for log in get(client, seeded["alice_h"], limit=100).json["logs"]]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = get(client, seeded["alice_h"], **params).json
        seen += [log["id"] for log in body["logs"]]
        cursor = body["next_cursor"]
        assert (cursor is not None) == body["has_more"]
        if cursor is None:
            break
    assert seen == expected and len(expected) == len(ROWS) + 5


def test_keyset_cursor_keeps_filters(client, seeded):
    body = get(client, seeded["alice_h"], actual_provider="wavespeed", limit=2).json
    rest = get(client, seeded["alice_h"], actual_provider="wavespeed", limit=2, cursor=body["next_cursor"]).json
    assert [log["model_used"] for log in rest["logs"]] == ["alibaba/wan-2.5/text-to-video"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwxXQ"])
def test_tampered_cursor_is_400(client, seeded, cursor):
    response = get(client, seeded["alice_h"], cursor=cursor)
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "cursor"


def test_single_record_errors_name_the_field_without_an_index(client, seeded):
    response = post(client, seeded["bob_h"], {"provider": "openai", "tokens_input": -1})
    assert response.json["errors"] == [{"field": "tokens_input", "message": "Input should be greater than or equal to 0"}]


@pytest.mark.parametrize("params, field", [
    ({"offset": str(2**70)}, "offset"),
    ({"limit": str(2**70)}, "limit"),
    ({"user_id": str(2**70)}, "user_id"),
    ({"cursor": "WyIyMDI2LTExLTAxVDAwOjAwOjAwWiIsMTE4MDU5MTYyMDcxNzQxMTMwMzQyNF0"}, "cursor"),  # id 2**70
])
def test_huge_numbers_are_400_not_overflow(client, seeded, params, field):
    response = get(client, seeded["alice_h"], **params)
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == field


def test_huge_user_id_in_a_record_is_400(client, seeded):
    response = post(client, seeded["bob_h"], {"provider": "openai", "user_id": 2**70})
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "user_id"


def test_total_count_is_capped_and_labelled(client, seeded, app):
    app.config["API_COUNT_CAP"] = 4
    body = get(client, seeded["alice_h"], limit=2).json
    assert body["total_count"] == 4 and body["total_count_exact"] is False and body["has_more"] is True
    body = get(client, seeded["alice_h"], actual_provider="huggingface").json
    assert body["total_count"] == 1 and body["total_count_exact"] is True


def test_a_parameter_given_twice_is_ambiguous(client, seeded):
    response = client.get("/api/subscription/usage-logs?model=a&model=b", headers=seeded["alice_h"])
    assert response.status_code == 400
    assert response.json["errors"] == [{"field": "model", "message": "must be given at most once"}]
    response = client.get("/api/subscription/analytics/providers?range=7d&range=30d", headers=seeded["alice_h"])
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "range"


def test_instants_with_no_utc_equivalent_are_400(client, seeded):
    response = get(client, seeded["alice_h"], start="0001-01-01T00:22:42+01:00")
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "start"
    response = post(client, seeded["bob_h"], {"provider": "openai", "timestamp": "0001-01-01T00:00:00+01:00"})
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "timestamp"
