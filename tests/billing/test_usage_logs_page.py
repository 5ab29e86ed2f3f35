"""The usage-logs page: actual provider shown, category beneath, filters, paging, isolation."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest

from portal.usage import record_usage

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def alice(make_user, login):
    user = make_user("alice@example.com")
    login(user)
    return user


def provider_cells(html: str) -> list[tuple[str, str | None]]:
    """(bold name, category beneath or None) for each row, read from the HTML."""
    cells = re.findall(r'<td class="provider">(.*?)</td>', html, re.S)
    out = []
    for cell in cells:
        name = re.search(r'<strong class="provider-name">(.*?)</strong>', cell).group(1)
        category = re.search(r'<span class="category">(.*?)</span>', cell)
        out.append((name, category.group(1) if category else None))
    return out


def test_anonymous_is_redirected_to_login(client):
    response = client.get("/billing/usage-logs")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_actual_provider_in_bold_with_category_beneath(client, alice):
    record_usage([
        {"user_id": alice.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video",
         "endpoint": "/video-generation/wavespeed", "timestamp": (T0 + dt.timedelta(hours=3)).isoformat()},
        {"user_id": alice.id, "provider": "mistral", "model_used": "openai/gpt-oss-120b:groq",
         "timestamp": (T0 + dt.timedelta(hours=2)).isoformat()},
        {"user_id": alice.id, "provider": "stability", "model_used": "sd3.5-large",
         "endpoint": "/image-generation/stability", "timestamp": (T0 + dt.timedelta(hours=1)).isoformat()},
    ])
    response = client.get("/billing/usage-logs")
    assert response.status_code == 200
    assert provider_cells(response.get_data(as_text=True)) == [
        ("WaveSpeed", "video"),
        ("HuggingFace", "mistral"),
        ("Stability AI", None),
    ]


def test_shows_only_own_logs(client, alice, make_user):
    bob = make_user("bob@example.com")
    record_usage({"user_id": bob.id, "provider": "openai", "model_used": "bobs-secret-model"})
    record_usage({"user_id": alice.id, "provider": "openai", "model_used": "alices-model"})
    html = client.get("/billing/usage-logs").get_data(as_text=True)
    assert "alices-model" in html and "bobs-secret-model" not in html
    assert client.get(f"/billing/usage-logs?user_id={bob.id}").status_code == 403


def test_filter_and_pagination(client, alice):
    record_usage([
        {"user_id": alice.id, "provider": "gemini", "model_used": "gemini-2.5-flash",
         "timestamp": (T0 + dt.timedelta(minutes=i)).isoformat()}
        for i in range(60)
    ] + [{"user_id": alice.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video",
          "endpoint": "/video-generation/wavespeed", "timestamp": T0.isoformat()}])
    page1 = client.get("/billing/usage-logs?actual_provider=google").get_data(as_text=True)
    assert page1.count('<td class="provider">') == 50
    assert "Page 1 of 2" in page1
    older = html_lib.unescape(re.search(r'rel="next" href="([^"]+)"', page1).group(1))
    assert "cursor=" in older and "actual_provider=google" in older and "page=2" in older
    page2 = client.get(older).get_data(as_text=True)
    assert page2.count('<td class="provider">') == 10
    assert "wan-2.5" not in page2 and "Page 2 of 2" in page2
    # Jumping by page number (no cursor) gives the same rows.
    jumped = client.get("/billing/usage-logs?actual_provider=google&page=2").get_data(as_text=True)
    assert re.findall(r'/billing/usage-logs/(\d+)"', jumped) == re.findall(r'/billing/usage-logs/(\d+)"', page2)


def test_bad_filter_is_explained_not_a_crash(client, alice):
    response = client.get("/billing/usage-logs?start=soon&billing_period=2026-13")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "must be YYYY-MM" in html and "ISO 8601" in html


def test_empty_state_says_what_to_do(client, alice):
    html = client.get("/billing/usage-logs").get_data(as_text=True)
    assert "No usage recorded yet" in html
    assert "flask usage import" in html


def test_valid_filters_still_apply_beside_a_bad_one(client, alice):
    record_usage([
        {"user_id": alice.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video", "endpoint": "/video-generation/wavespeed"},
        {"user_id": alice.id, "provider": "gemini", "model_used": "gemini-2.5-flash"},
    ])
    html = client.get("/billing/usage-logs?provider=video&start=soon").get_data(as_text=True)
    assert "wan-2.5" in html and "gemini-2.5-flash" not in html
    assert "start</strong> must be an ISO 8601" in html


def test_sorting_by_cost(client, alice):
    record_usage([{"user_id": alice.id, "provider": "openai", "model_used": f"m{i}", "cost_total": cost,
                   "timestamp": (T0 + dt.timedelta(minutes=i)).isoformat()}
                  for i, cost in enumerate(["0.5", "2.25", "0.01", "1"])])
    html = client.get("/billing/usage-logs?sort=-cost").get_data(as_text=True)
    assert re.findall(r'title="(m\d)"', html) == ["m1", "m3", "m0", "m2"]
    assert 'aria-sort="descending"' in html
    html = client.get("/billing/usage-logs?sort=cost").get_data(as_text=True)
    assert re.findall(r'title="(m\d)"', html) == ["m2", "m0", "m3", "m1"]


def test_detail_shows_every_field_and_why(client, alice, make_user):
    [log] = record_usage({"user_id": alice.id, "provider": "mistral", "model_used": "openai/gpt-oss-120b:groq",
                          "endpoint": "https://router.huggingface.co/v1/chat/completions", "cost_total": "0.00123456",
                          "error_message": "none", "idempotency_key": "abc-1"})
    html = client.get(f"/billing/usage-logs/{log.id}").get_data(as_text=True)
    assert "HuggingFace" in html and "0.00123456" in html and "abc-1" in html
    assert "router.huggingface.co" in html and "endpoint-host" in html
    bob = make_user("bob@example.com")
    [theirs] = record_usage({"user_id": bob.id, "provider": "openai"})
    assert client.get(f"/billing/usage-logs/{theirs.id}").status_code == 404
    assert client.get("/billing/usage-logs/999999").status_code == 404


def test_a_tampered_cursor_shows_page_one_and_says_so(client, alice):
    record_usage({"user_id": alice.id, "provider": "openai", "model_used": "still-listed"})
    response = client.get("/billing/usage-logs?cursor=garbage&page=7")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "still-listed" in html and "Page 1 of 1" in html and "not a cursor this API issued" in html
