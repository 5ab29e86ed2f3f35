"""Suggestions appear only when the user's own numbers support them."""

from __future__ import annotations

import datetime as dt

from portal.usage import record_usage

NOW = dt.datetime.now(dt.timezone.utc)


def calls(user_id, n, category, model, endpoint, cost, failures=0):
    return [{"user_id": user_id, "provider": category, "model_used": model, "endpoint": endpoint,
             "cost_total": cost, "status_code": 500 if i < failures else 200,
             "timestamp": (NOW - dt.timedelta(hours=i + 1)).isoformat()} for i in range(n)]


def advice(client, headers):
    return client.get("/api/subscription/analytics/providers?range=30d", headers=headers).json["recommendations"]


def test_cheaper_provider_with_similar_success(client, make_user, token_for):
    user = make_user()
    record_usage(calls(user.id, 30, "stability", "sd3.5-large", "/image-generation/stability", "0.09", failures=1)
                 + calls(user.id, 40, "stability", "qwen-image", "/image-generation/wavespeed", "0.03", failures=1))
    [rec] = advice(client, token_for(user))
    assert rec["kind"] == "cheaper-provider"
    assert rec["text"].startswith("Image generation via Stability AI costs 3.0x more per call than via WaveSpeed ($0.0900 vs $0.0300)")
    assert "97% vs 98%" in rec["text"]
    assert rec["numbers"]["estimated_savings"] == "1.80000000"  # 30 calls x $0.06


def test_no_advice_when_the_cheap_one_fails_more(client, make_user, token_for):
    user = make_user()
    record_usage(calls(user.id, 30, "stability", "sd3.5-large", "/image-generation/stability", "0.09")
                 + calls(user.id, 40, "stability", "qwen-image", "/image-generation/wavespeed", "0.03", failures=8))
    kinds = [r["kind"] for r in advice(client, token_for(user))]
    assert "cheaper-provider" not in kinds
    assert "unreliable-provider" in kinds  # 20% failures is worth its own warning


def test_no_advice_on_thin_data_or_small_gaps(client, make_user, token_for):
    user = make_user()
    record_usage(calls(user.id, 5, "stability", "sd3.5-large", "/image-generation/stability", "0.09")
                 + calls(user.id, 40, "stability", "qwen-image", "/image-generation/wavespeed", "0.03")
                 + calls(user.id, 30, "video", "veo-3.0-generate-001", None, "1.20")
                 + calls(user.id, 30, "video", "alibaba/wan-2.5/text-to-video", "/video-generation/wavespeed", "1.00"))
    assert advice(client, token_for(user)) == []


def test_unreliable_provider_warning_has_its_numbers(client, make_user, token_for):
    user = make_user()
    record_usage(calls(user.id, 25, "mistral", "openai/gpt-oss-120b:groq", None, "0.001", failures=5))
    [rec] = advice(client, token_for(user))
    assert rec["kind"] == "unreliable-provider"
    assert rec["numbers"] == {"provider": "huggingface", "failures": 5, "calls": 25, "failure_rate": "0.200000", "retries": 0}
    assert "HuggingFace failed 20% of calls (5 of 25)" in rec["text"]
