"""The analytics numbers against an independent computation over the same records.

Expected values are computed here in plain Python from the records as sent
(costs as Decimals, days with zoneinfo, percentiles by nearest rank), never by
the code under test.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from portal.usage import record_usage

NOW = dt.datetime.now(dt.timezone.utc)
# (category, model, endpoint) -> actual provider, written by hand.
MIX = [
    (("video", "alibaba/wan-2.5/text-to-video", "/video-generation/wavespeed"), "wavespeed"),
    (("video", "veo-3.0-generate-001", None), "google"),
    (("stability", "sd3.5-large", "/image-generation/stability"), "stability"),
    (("stability", "qwen-image", "/image-generation/wavespeed"), "wavespeed"),
    (("gemini", "gemini-2.5-flash", None), "google"),
    (("mistral", "openai/gpt-oss-120b:groq", None), "huggingface"),
    (("openai", "gpt-4o", "https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions"), "azure"),
]


def make_records(user_id: int, n: int, seed: int, days: int = 40) -> list[dict]:
    rnd = random.Random(seed)
    records = []
    for i in range(n):
        (category, model, endpoint), _ = rnd.choice(MIX)
        ts = NOW - dt.timedelta(seconds=rnd.randrange(days * 86400))
        status = rnd.choice([200] * 9 + [500, 429, None])
        records.append({
            "user_id": user_id, "provider": category, "model_used": model, "endpoint": endpoint,
            "tokens_input": rnd.randrange(0, 3000), "tokens_output": rnd.randrange(0, 800),
            "cost_total": str(Decimal(rnd.randrange(0, 10**7)).scaleb(-8)),
            "response_time": None if rnd.random() < 0.1 else round(rnd.uniform(0.05, 30), 3),
            "status_code": status, "retry_count": rnd.choice([0, 0, 0, 1, 2]),
            "timestamp": ts.isoformat(),
        })
    return records


def provider_of(record: dict) -> str:
    return dict(MIX)[(record["provider"], record["model_used"], record["endpoint"])]


def nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


def in_range(record: dict, start: dt.datetime, end: dt.datetime) -> bool:
    ts = dt.datetime.fromisoformat(record["timestamp"])
    return start <= ts < end


@pytest.fixture
def dataset(make_user, token_for):
    me, other = make_user(), make_user()
    # Over 400 days, so the long ranges span whole months (read from the rollups and the histogram).
    mine = make_records(me.id, 400, seed=11) + make_records(me.id, 1200, seed=13, days=400)
    theirs = make_records(other.id, 150, seed=12)
    record_usage(mine)
    record_usage(theirs)
    return {"records": mine, "headers": token_for(me), "user": me}


def analytics(client, headers, **params):
    response = client.get("/api/subscription/analytics/providers", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def spans_a_whole_utc_month(start: dt.datetime, end: dt.datetime) -> bool:
    """True when some UTC calendar month lies wholly inside [start, end)."""
    month = start.astimezone(dt.timezone.utc).date().replace(day=1)
    while True:
        first = dt.datetime(month.year, month.month, 1, tzinfo=dt.timezone.utc)
        month = (month + dt.timedelta(days=32)).replace(day=1)
        stop = dt.datetime(month.year, month.month, 1, tzinfo=dt.timezone.utc)
        if stop > end:
            return False
        if first >= start:
            return True


def bucket_key(local_day: dt.date, weekly: bool) -> str:
    """The chart bucket a local day belongs to: itself, or the Monday of its week."""
    return (local_day - dt.timedelta(days=local_day.weekday()) if weekly else local_day).isoformat()


@pytest.mark.parametrize("preset", ["30d", "90d", "12m"])
@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_numbers_match_an_independent_computation(client, dataset, tz, preset):
    body = analytics(client, dataset["headers"], range=preset, tz=tz)
    zone = ZoneInfo(tz)
    start = dt.datetime.fromisoformat(body["range"]["start"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(body["range"]["end"].replace("Z", "+00:00"))
    # The range is whole local days ending tomorrow at local midnight.
    local_end = end.astimezone(zone)
    assert local_end.time() == dt.time(0) and local_end.date() == NOW.astimezone(zone).date() + dt.timedelta(days=1)
    assert start.astimezone(zone).time() == dt.time(0)
    if preset != "12m":
        assert start.astimezone(zone).date() == local_end.date() - dt.timedelta(days=int(preset[:-1]))

    rows = [r for r in dataset["records"] if in_range(r, start, end)]
    assert 0 < len(rows) < len(dataset["records"])  # the range really cuts

    cost = sum(Decimal(r["cost_total"]) for r in rows)
    failures = sum(1 for r in rows if not (r["status_code"] and 200 <= r["status_code"] < 300))
    current = body["summary"]["current"]
    assert current["calls"] == len(rows)
    assert Decimal(current["cost"]) == cost
    assert current["tokens"] == sum(r["tokens_input"] + r["tokens_output"] for r in rows)
    assert current["failures"] == failures
    assert Decimal(current["error_rate"]) == (Decimal(failures) / len(rows)).quantize(Decimal("0.000001"))

    by_provider = defaultdict(list)
    for r in rows:
        by_provider[provider_of(r)].append(r)
    got = {p["actual_provider"]: p for p in body["providers"]}
    assert set(got) == set(by_provider)
    for slug, items in by_provider.items():
        expected_cost = sum(Decimal(r["cost_total"]) for r in items)
        assert got[slug]["calls"] == len(items)
        assert Decimal(got[slug]["cost"]) == expected_cost
        assert Decimal(got[slug]["share"]) == (expected_cost / cost).quantize(Decimal("0.000001"))
    # The totals row is the exact sum of the rows, and equals the summary.
    assert sum(Decimal(p["cost"]) for p in body["providers"]) == Decimal(body["providers_total"]["cost"]) == cost

    perf = {p["actual_provider"]: p for p in body["performance"]}
    # Exact unless a whole UTC month is read from the latency histogram: then within its 2% bin.
    binned = spans_a_whole_utc_month(start, end)
    assert binned == (preset != "30d")
    for slug, items in by_provider.items():
        times = [r["response_time"] for r in items if r["response_time"] is not None]
        for p in (50, 95):
            got, exact = perf[slug][f"p{p}_response_time"], nearest_rank(times, p)
            if binned:
                assert abs(got - exact) <= exact * 0.01, (slug, p, got, exact)
            else:
                assert got == exact, (slug, p)
        assert perf[slug]["retries"] == sum(r["retry_count"] for r in items)
        assert perf[slug]["successes"] == sum(1 for r in items if r["status_code"] and 200 <= r["status_code"] < 300)

    weekly = preset == "12m"
    buckets = defaultdict(Decimal)
    for r in rows:
        day = dt.datetime.fromisoformat(r["timestamp"]).astimezone(zone).date()
        buckets[bucket_key(day, weekly)] += Decimal(r["cost_total"])
    series = {p["start"]: Decimal(p["total"]) for p in body["series"]}
    if not weekly:
        assert len(series) == int(preset[:-1])
    assert {d: c for d, c in series.items() if c} == {d: c for d, c in buckets.items() if c}


def test_previous_range_is_the_equal_range_before(client, dataset):
    body = analytics(client, dataset["headers"], range="7d")
    start = dt.datetime.fromisoformat(body["range"]["start"].replace("Z", "+00:00"))
    prev_start = start - dt.timedelta(days=7)
    rows = [r for r in dataset["records"] if in_range(r, prev_start, start)]
    assert body["summary"]["previous"]["calls"] == len(rows)
    assert Decimal(body["summary"]["previous"]["cost"]) == sum(Decimal(r["cost_total"]) for r in rows)


def test_comparison_groups_similar_work(client, dataset):
    body = analytics(client, dataset["headers"], range="90d")
    kinds = {c["work"]: {p["actual_provider"]: p for p in c["providers"]} for c in body["comparison"]}
    start = dt.datetime.fromisoformat(body["range"]["start"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(body["range"]["end"].replace("Z", "+00:00"))
    video = [r for r in dataset["records"] if r["provider"] == "video" and in_range(r, start, end)]
    wave = [r for r in video if provider_of(r) == "wavespeed"]
    expected = sum(Decimal(r["cost_total"]) for r in wave) / len(wave)
    assert Decimal(kinds["video"]["wavespeed"]["cost_per_call"]) == expected.quantize(Decimal("0.00000001"))
    assert set(kinds["image"]) == {"stability", "wavespeed"}


def test_other_users_rows_never_count(client, dataset, make_user, token_for):
    stranger = make_user()
    body = analytics(client, token_for(stranger), range="90d")
    assert body["summary"]["current"]["calls"] == 0 and body["providers"] == []


def test_custom_range_and_bad_parameters(client, dataset):
    today = NOW.date()
    body = analytics(client, dataset["headers"], range="custom", start=(today - dt.timedelta(days=3)).isoformat(), end=today.isoformat())
    assert len(body["series"]) == 4
    for params, field in [({"range": "forever"}, "range"), ({"tz": "Mars/Olympus"}, "tz"),
                          ({"range": "custom", "start": "2026-02-10", "end": "2026-02-01"}, "end"),
                          ({"range": "custom"}, "start")]:
        response = client.get("/api/subscription/analytics/providers", headers=dataset["headers"], query_string=params)
        assert response.status_code == 400 and field in [e["field"] for e in response.json["errors"]]


def test_dashboard_page_shows_the_same_numbers(client, dataset, login):
    login(dataset["user"])
    body = analytics(client, dataset["headers"], range="30d")
    html = client.get("/billing?range=30d").get_data(as_text=True)
    total = Decimal(body["summary"]["current"]["cost"]).quantize(Decimal("0.0001"))
    assert f'data-testid="total-cost">${total:,}' in html
    assert f'data-testid="breakdown-total">{total:,}' in html
    for provider in body["providers"]:
        assert f'actual_provider={provider["actual_provider"]}' in html


def test_days_follow_daylight_saving_changes(client, make_user, token_for):
    """Calls just before and after local midnight, on both sides of the New York DST change (2026-11-01)."""
    user = make_user()
    zone = ZoneInfo("America/New_York")
    records, expected = [], defaultdict(Decimal)
    for day in range(25, 38):  # Oct 25 .. Nov 6
        date = dt.date(2026, 10, 1) + dt.timedelta(days=day - 1)
        for local_time, cents in ((dt.time(0, 30), 1), (dt.time(23, 30), 100)):
            local = dt.datetime.combine(date, local_time, tzinfo=zone)
            records.append({"user_id": user.id, "provider": "gemini", "model_used": "gemini-2.5-flash",
                            "cost_total": str(Decimal(cents) / 100), "timestamp": local.astimezone(dt.timezone.utc).isoformat()})
            expected[date.isoformat()] += Decimal(cents) / 100
    record_usage(records)
    body = analytics(client, token_for(user), range="custom", start="2026-10-25", end="2026-11-07", tz="America/New_York")
    series = {p["start"]: Decimal(p["total"]) for p in body["series"]}
    assert len(series) == 14 and series["2026-11-07"] == 0
    assert {day: total for day, total in series.items() if total} == dict(expected)
    assert body["summary"]["current"]["calls"] == len(records)
