"""The portal as a person uses it: headless Chromium against the app served on 127.0.0.1.

Every number the pages show is checked against the rows read back from the
database by the ``usage`` fixture (raw SQL, summed here), never against the
app's own query code or the page itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import struct
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from portal.formatting import duration
from portal.formatting import percent as format_percent
from portal.providers import display_name, provider_display

from .conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DEMO_EMAIL,
    OTHER_EMAIL,
    UTC,
    chromium_problem,
    days_range,
    total_cost,
    z,
)

LOG_ROWS = "table.logs tbody tr"


# --- helpers ----------------------------------------------------------------------------------


def shown(value: Decimal) -> Decimal:
    """What a page shows for an amount: cents from $100 up, else four places (half up)."""
    return value.quantize(Decimal("0.01") if value >= 100 else Decimal("0.0001"), rounding=ROUND_HALF_UP)


def parse_money(text: str) -> Decimal:
    """'$1,234.56' -> Decimal('1234.56')."""
    cleaned = text.strip().lstrip("$").replace(",", "")
    assert re.fullmatch(r"\d+(\.\d+)?", cleaned), f"not an amount: {text!r}"
    return Decimal(cleaned)


def parse_int(text: str) -> int:
    return int(text.strip().replace(",", ""))


def query_of(url: str) -> dict[str, str]:
    """A URL's query as a flat dict (blank values kept)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def path_of(url: str) -> str:
    return urlsplit(url).path


def stat(page, label: str) -> str:
    """The value of a summary card."""
    return page.locator(".card.stat", has=page.locator(".stat-label", has_text=label)).locator(".stat-value").inner_text()


def percent(numerator: int, denominator: int) -> str:
    """The page's rendering of a rate; the rate itself is computed here from the rows."""
    return format_percent(Decimal(numerator) / Decimal(denominator))


def nearest_rank(values: list[float], p: int) -> float | None:
    """The nearest-rank percentile (the smallest value with at least p% of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


def section(page, title: str):
    return page.locator("section.card", has=page.get_by_role("heading", name=title, exact=True))


def by_provider(logs) -> dict[str | None, list]:
    groups: dict[str | None, list] = defaultdict(list)
    for log in logs:
        groups[log.actual].append(log)
    return groups


def provider_table(page) -> list[dict]:
    """The dashboard's cost-by-provider table, one dict per row."""
    rows = []
    for tr in page.locator("[data-testid=provider-table] tbody tr").all():
        cells = tr.locator("td").all_inner_texts()
        link = tr.locator("a.provider-link")
        slug = query_of(link.get_attribute("href"))["actual_provider"] if link.count() else None
        rows.append({"slug": slug, "name": cells[0].strip(), "calls": parse_int(cells[1]),
                     "tokens": parse_int(cells[2]), "cost": parse_money(cells[3])})
    return rows


def check_dashboard(page, usage, start: dt.datetime, end: dt.datetime) -> Decimal:
    """Cards, cost table and totals row against the database for [start, end); returns the total."""
    logs = usage.of(start=start, end=end)
    assert logs, "the seed should put usage in every range the tests use"
    total = total_cost(logs)
    assert parse_money(page.get_by_test_id("total-cost").inner_text()) == shown(total)
    assert parse_int(stat(page, "Calls")) == len(logs)
    assert parse_int(stat(page, "Tokens")) == sum(log.tokens_total for log in logs)
    assert stat(page, "Error rate").strip() == percent(sum(log.failed for log in logs), len(logs))
    # Each card links to the logs behind it, for exactly this range.
    card_link = page.locator(".card.stat", has=page.get_by_test_id("total-cost")).get_attribute("href")
    assert path_of(card_link) == "/billing/usage-logs"
    assert query_of(card_link) == {"start": z(start), "end": z(end)}

    groups = by_provider(logs)
    table = provider_table(page)
    assert {row["slug"] for row in table} == set(groups), "the table must list exactly the providers used"
    for row in table:
        mine = groups[row["slug"]]
        assert row["calls"] == len(mine), row
        assert row["tokens"] == sum(log.tokens_total for log in mine), row
        assert row["cost"] == shown(total_cost(mine)), row
        if row["slug"]:
            assert row["name"] == display_name(row["slug"]), row
    costs = [total_cost(groups[row["slug"]]) for row in table]
    assert costs == sorted(costs, reverse=True), "costliest provider first"
    foot = page.locator("[data-testid=provider-table] tfoot td").all_inner_texts()
    assert parse_int(foot[0]) == len(logs)
    assert parse_money(page.get_by_test_id("breakdown-total").inner_text()) == shown(total)
    return total


def visible_logs(page) -> list[dict]:
    """The rows of the usage-logs table: id (from the detail link), provider, status, cost, time."""
    rows = []
    for tr in page.locator(LOG_ROWS).all():
        href = tr.locator("td").first.locator("a").get_attribute("href")
        match = re.fullmatch(r"/billing/usage-logs/(\d+)", href or "")
        assert match, f"time cell does not link to a detail page: {href!r}"
        rows.append({
            "id": int(match.group(1)),
            "provider": tr.locator(".provider-name").inner_text().strip(),
            "status": tr.locator(".status").inner_text().strip(),
            "failed": tr.locator(".status.fail").count() == 1,
            "cost": tr.locator("td").nth(4).inner_text().strip(),
            "time": tr.locator("time").get_attribute("datetime"),
        })
    return rows


def log_count(page) -> int:
    return parse_int(page.locator(".head-actions .count strong").inner_text())


def check_provider_logs(page, usage, slug: str, name: str, start: dt.datetime, end: dt.datetime) -> None:
    """The usage-logs page filtered to one provider and range, against the database."""
    assert path_of(page.url) == "/billing/usage-logs"
    assert query_of(page.url) == {"actual_provider": slug, "start": z(start), "end": z(end)}
    expected = usage.of(actual=slug, start=start, end=end)
    assert log_count(page) == len(expected)
    rows = visible_logs(page)
    assert len(rows) == min(50, len(expected))
    assert {row["provider"] for row in rows} == {name}
    assert [row["id"] for row in rows] == [log.id for log in expected[:50]], "newest first, the right rows"
    # The form shows the filter that is applied.
    assert page.locator("#f-actual").input_value() == slug


# --- the tests --------------------------------------------------------------------------------


def test_chromium_is_installed():
    """Without Chromium the browser tests fail (they never skip): say so plainly."""
    problem = chromium_problem()
    assert problem is None, problem


def test_sign_in_lands_on_dashboard_with_the_databases_totals(new_page, usage, browser_log):
    page = new_page()
    # Signed out, the portal sends a person to the login form.
    page.goto("/")
    assert path_of(page.url) == "/login"

    # A forged post (no CSRF token) is refused: CSRF protection is really on.
    page.fill("#email", DEMO_EMAIL)
    page.fill("#password", "demo-password")
    page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    browser_log.allow(r"status of 400 .*?/login")
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="Sign in").click()
    assert refused.value.status == 400
    assert "CSRF" in page.content()
    assert page.locator(".account-email").count() == 0

    # The real form signs in and lands on the dashboard.
    page.goto("/")
    page.fill("#email", DEMO_EMAIL)
    page.fill("#password", "demo-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/billing")
    assert path_of(page.url) == "/billing"
    assert page.locator("h1").inner_text() == "Billing dashboard"
    assert page.locator(".page-head p.muted").inner_text().startswith("Last 30 days")

    start, end = days_range(30)
    total = check_dashboard(page, usage, start, end)
    # The other user's usage is in the database but not on this page.
    assert total != total_cost(usage.of(OTHER_EMAIL, start=start, end=end))

    # Against the previous 30 days: the change shown next to the total.
    previous = total_cost(usage.of(start=start - (end - start), end=start))
    change = ((total - previous) / previous * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    card = page.locator(".card.stat", has=page.get_by_test_id("total-cost"))
    assert card.locator(".delta").inner_text().endswith(f"{'+' if change > 0 else ''}{change}%")

    # Provider performance: success rate, nearest-rank p50/p95, retries.
    logs = usage.of(start=start, end=end)
    groups = by_provider(logs)
    perf = [tr.locator("td").all_inner_texts() for tr in section(page, "Provider performance").locator("tbody tr").all()]
    assert len(perf) == len(groups)
    names = {(display_name(slug) if slug else "Unattributed"): slug for slug in groups}
    for name, calls, success, p50, p95, retries in perf:
        mine = groups[names[name.strip()]]
        times = [log.response_time for log in mine if log.response_time is not None]
        assert parse_int(calls) == len(mine), name
        assert success == percent(sum(not log.failed for log in mine), len(mine)), name
        assert (p50, p95) == (duration(nearest_rank(times, 50)), duration(nearest_rank(times, 95))), name
        assert parse_int(retries) == sum(log.retry_count for log in mine), name

    # Plan usage: this billing period's calls per logged category.
    period = dt.datetime.now(UTC).strftime("%Y-%m")
    per_category: dict[str, int] = defaultdict(int)
    for log in usage.of():
        if log.billing_period == period:
            per_category[log.category] += 1
    plan = section(page, f"Plan usage · {period}").locator("li")
    shown_categories = {}
    for item in plan.all():
        figure = item.locator(".plan-figure").inner_text()
        shown_categories[item.locator(".plan-label").inner_text().strip()] = parse_int(figure.split(" ")[0])
    assert {k: v for k, v in shown_categories.items() if v} == dict(per_category)

    # The error-rate card opens exactly the failed calls of the range.
    with page.expect_navigation():
        card = page.locator(".card.stat", has=page.locator(".stat-label", has_text="Error rate"))
        card.click()
    assert query_of(page.url) == {"start": z(start), "end": z(end), "status": "failed"}
    assert log_count(page) == sum(log.failed for log in logs)
    page.go_back()

    # The page's JSON twin states the same range and the exact total.
    twin = page.request.get("/api/subscription/analytics/providers?range=30d&tz=UTC")
    assert twin.ok, twin.text()
    body = twin.json()
    assert (body["range"]["start"], body["range"]["end"]) == (z(start), z(end))
    assert Decimal(body["summary"]["current"]["cost"]) == total
    assert body["summary"]["current"]["calls"] == len(usage.of(start=start, end=end))


def test_changing_the_range_changes_the_url_and_the_numbers(page, sign_in, usage):
    sign_in(page)
    total30 = total_cost(usage.of(start=days_range(30)[0], end=days_range(30)[1]))
    assert parse_money(page.get_by_test_id("total-cost").inner_text()) == shown(total30)

    # Last 7 days, through the form.
    page.select_option("#r-range", "7d")
    with page.expect_navigation():
        page.locator("form.range-form").get_by_role("button", name="Apply").click()
    assert path_of(page.url) == "/billing"
    assert query_of(page.url)["range"] == "7d"
    assert page.locator(".page-head p.muted").inner_text().startswith("Last 7 days")
    start, end = days_range(7)
    total7 = check_dashboard(page, usage, start, end)
    assert 0 < total7 < total30, "a shorter range, a smaller total"
    assert len(page.locator("details.chart-table tbody tr").all()) == 7

    # The same week in another (labelled) time zone: local days, so other UTC bounds and numbers.
    page.select_option("#r-tz", "Asia/Tokyo")
    with page.expect_navigation():
        page.locator("form.range-form").get_by_role("button", name="Apply").click()
    assert query_of(page.url)["tz"] == "Asia/Tokyo"
    assert page.locator(".page-head strong").first.inner_text() == "Asia/Tokyo"
    check_dashboard(page, usage, *days_range(7, "Asia/Tokyo"))

    # A custom range of whole UTC days.
    today = dt.datetime.now(UTC).date()
    first, last = today - dt.timedelta(days=40), today - dt.timedelta(days=21)
    page.select_option("#r-tz", "UTC")
    page.select_option("#r-range", "custom")
    page.fill("#r-start", first.isoformat())
    page.fill("#r-end", last.isoformat())
    with page.expect_navigation():
        page.locator("form.range-form").get_by_role("button", name="Apply").click()
    args = query_of(page.url)
    assert (args["range"], args["start"], args["end"]) == ("custom", first.isoformat(), last.isoformat())
    start = dt.datetime.combine(first, dt.time(), tzinfo=UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
    check_dashboard(page, usage, start, end)
    assert len(page.locator("details.chart-table tbody tr").all()) == 20


def test_provider_in_the_cost_table_opens_its_logs(page, sign_in, usage):
    sign_in(page)
    start, end = days_range(30)
    # Not the first row: a link that ignored its row would still pass for the first one.
    link = page.locator("[data-testid=provider-table] a.provider-link").nth(1)
    name = link.inner_text().strip()
    slug = query_of(link.get_attribute("href"))["actual_provider"]
    with page.expect_navigation():
        link.click()
    check_provider_logs(page, usage, slug, name, start, end)


def test_legend_item_opens_its_providers_logs(page, sign_in, usage):
    sign_in(page)
    start, end = days_range(30)
    legend = page.locator("figcaption.legend a.legend-item")
    assert legend.count() >= 3
    item = legend.nth(2)
    name = item.inner_text().strip()
    slug = query_of(item.get_attribute("href"))["actual_provider"]
    assert name == display_name(slug), "the legend names the provider its link filters on"
    with page.expect_navigation():
        item.click()
    check_provider_logs(page, usage, slug, name, start, end)


def test_chart_bar_shows_that_days_cost_and_opens_the_providers_logs(page, sign_in, usage):
    sign_in(page)
    start, end = days_range(30)
    bars = page.locator("svg.chart-svg a")
    # The tallest segment: a click on it cannot land on a neighbour.
    tallest = bars.evaluate_all(
        "links => links.map(a => +a.querySelector('rect').getAttribute('height'))"
        ".reduce((best, h, i, all) => h > all[best] ? i : best, 0)")
    bar = bars.nth(tallest)
    title = bar.locator("title").text_content()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) · (.+): \$(\d+\.\d{4})", title)
    assert match, title
    day, name, cost = dt.date.fromisoformat(match.group(1)), match.group(2), Decimal(match.group(3))
    slug = query_of(bar.get_attribute("href"))["actual_provider"]
    assert name == display_name(slug)
    day_start = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
    that_day = usage.of(actual=slug, start=day_start, end=day_start + dt.timedelta(days=1))
    assert abs(cost - total_cost(that_day)) <= Decimal("0.00005"), (title, total_cost(that_day))
    with page.expect_navigation():
        bar.locator("rect").click(force=True)
    # The link filters on the provider over bounds that contain the bar's day (today: the whole range).
    args = query_of(page.url)
    link_start, link_end = (dt.datetime.fromisoformat(args[k].replace("Z", "+00:00")) for k in ("start", "end"))
    assert start <= link_start <= day_start and day_start + dt.timedelta(days=1) <= link_end <= end, args
    check_provider_logs(page, usage, slug, name, link_start, link_end)


def test_usage_logs_filter_page_sort_and_detail(page, sign_in, usage):
    sign_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage logs").click()
    page.wait_for_url("**/billing/usage-logs")
    assert log_count(page) == len(usage.of())

    # Filter through the form: WaveSpeed, successful calls.
    page.select_option("#f-actual", "wavespeed")
    page.select_option("#f-status", "success")
    with page.expect_navigation():
        page.locator("form.filters").get_by_role("button", name="Apply").click()
    args = query_of(page.url)
    assert (args["actual_provider"], args["status"]) == ("wavespeed", "success")
    expected = usage.of(actual="wavespeed", status="success")
    assert len(expected) > 100, "the seed should give this filter several pages"
    assert log_count(page) == len(expected)
    rows = visible_logs(page)
    assert [r["id"] for r in rows] == [log.id for log in expected[:50]]
    assert {r["provider"] for r in rows} == {"WaveSpeed"} and not any(r["failed"] for r in rows)

    # Older →: the next 50, still filtered.
    with page.expect_navigation():
        page.locator("a[rel=next]", has_text="Older →").click()
    assert query_of(page.url)["page"] == "2"
    assert [r["id"] for r in visible_logs(page)] == [log.id for log in expected[50:100]]
    assert page.locator(".pager").inner_text().count("Page 2 of") == 1

    # Sort by cost (click the header): most expensive first, filters kept.
    with page.expect_navigation():
        page.locator("a.sort-link", has_text="Cost (USD)").click()
    args = query_of(page.url)
    assert args["sort"] == "-cost" and args["actual_provider"] == "wavespeed" and args["status"] == "success"
    assert page.locator("th[aria-sort=descending]").text_content().strip() == "Cost (USD) ↓"
    by_cost = sorted(expected, key=lambda log: (log.cost_total, log.id), reverse=True)
    rows = visible_logs(page)
    costs = [Decimal(r["cost"]) for r in rows]
    assert costs == sorted(costs, reverse=True) and costs[0] > costs[-1]
    assert [r["id"] for r in rows] == [log.id for log in by_cost[:50]]
    assert costs[0] == shown(by_cost[0].cost_total)
    with page.expect_navigation():
        page.locator("a[rel=next]", has_text="Next →").click()
    assert [r["id"] for r in visible_logs(page)] == [log.id for log in by_cost[50:100]]

    # A row's detail: every field, and why it was attributed to WaveSpeed.
    chosen = by_cost[50]
    with page.expect_navigation():
        page.locator(LOG_ROWS).first.locator("td").first.locator("a").click()
    assert path_of(page.url) == f"/billing/usage-logs/{chosen.id}"
    assert page.get_by_role("heading", name="Why WaveSpeed?").is_visible()
    assert f"Call #{chosen.id} on {chosen.timestamp:%Y-%m-%d %H:%M:%S} UTC" in page.locator(".page-head").inner_text()
    facts = page.locator("dl.facts").all_inner_texts()
    assert f"{chosen.cost_total} total" in " ".join(facts), "the exact stored cost"
    assert chosen.model in facts[1] and chosen.endpoint in facts[1]


def test_failed_filter_counts_every_non_2xx_status(page, sign_in, usage):
    sign_in(page)
    page.goto("/billing/usage-logs")
    page.select_option("#f-status", "failed")
    with page.expect_navigation():
        page.locator("form.filters").get_by_role("button", name="Apply").click()
    expected = usage.of(status="failed")
    assert {log.status_code for log in expected} >= {400, 429, 500, 503}
    assert log_count(page) == len(expected)
    rows = visible_logs(page)
    assert [r["id"] for r in rows] == [log.id for log in expected[:50]]
    assert all(r["failed"] for r in rows)
    assert {r["status"] for r in rows} == {str(log.status_code) for log in expected[:50]}


def test_csv_export_holds_exactly_the_filtered_rows(page, sign_in, usage):
    sign_in(page)
    page.goto("/billing/usage-logs")
    since = dt.datetime.now(UTC).date() - dt.timedelta(days=45)
    # Hugging Face's small models cost fractions of a cent: 0.00001234 must not become 1.234e-05.
    page.select_option("#f-category", "mistral")
    page.fill("#f-start", since.isoformat())
    with page.expect_navigation():
        page.locator("form.filters").get_by_role("button", name="Apply").click()
    start = dt.datetime.combine(since, dt.time(), tzinfo=UTC)
    expected = usage.of(category="mistral", start=start)
    assert log_count(page) == len(expected) > 50

    export = page.get_by_role("link", name="Export CSV")
    assert query_of(export.get_attribute("href"))["provider"] == "mistral"
    with page.expect_download() as info:
        export.click()
    download = info.value
    assert re.fullmatch(r"usage-logs-\d{8}T\d{6}Z\.csv", download.suggested_filename)
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    assert [int(r["id"]) for r in rows] == [log.id for log in expected], "exactly the filtered rows, newest first"
    assert any(log.cost_total < Decimal("0.0001") for log in expected), "the export should include sub-cent costs"
    for row, log in zip(rows, expected):
        stamp = row["timestamp_utc"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z", stamp), stamp
        assert dt.datetime.fromisoformat(stamp[:-1]).replace(tzinfo=UTC) == log.timestamp
        for column, stored in (("cost_input", log.cost_input), ("cost_output", log.cost_output),
                               ("cost_total", log.cost_total)):
            assert re.fullmatch(r"\d+(\.\d{1,8})?", row[column]), (column, row[column])
            assert Decimal(row[column]) == stored, (column, row[column], stored)
        assert row["provider"] == "mistral" == log.category
        assert row["actual_provider_name"] == (log.actual or "")
        assert row["provider_display"] == provider_display(log.actual, log.category)
        assert row["model_used"] == (log.model or "")
        assert row["status_code"] == ("" if log.status_code is None else str(log.status_code))
        assert row["billing_period"] == log.billing_period == f"{log.timestamp:%Y-%m}"
        assert int(row["tokens_total"]) == log.tokens_total


def test_widget_page_renders_live_widgets_and_explains_errors(page, sign_in, usage, browser_log):
    # The error widget's revoked token is answered 401 on purpose; Chromium logs the failed fetch.
    browser_log.allow(r"status of 401 .*/api/subscription/usage-logs\?limit=10\]")
    sign_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Widget").click()
    page.wait_for_url("**/billing/widget")
    page.wait_for_selector("#widget-providers[data-state=ready]")
    page.wait_for_selector("#widget-logs[data-state=ready]")

    start, end = days_range(30)
    logs = usage.of(start=start, end=end)
    caption = page.locator("#widget-providers .bw-caption").inner_text()
    match = re.fullmatch(r"Last 30 days \(UTC\) · total \$([\d.]+) over ([\d,]+) calls", caption)
    assert match, caption
    total = total_cost(logs)
    assert abs(Decimal(match.group(1)) - total) <= Decimal("0.005"), (caption, total)
    assert parse_int(match.group(2)) == len(logs)
    groups = by_provider(logs)
    costliest_first = sorted(groups, key=lambda slug: total_cost(groups[slug]), reverse=True)
    names = page.locator("#widget-providers tbody tr td:first-child").all_inner_texts()
    assert names == [display_name(slug) if slug else "Unattributed" for slug in costliest_first]

    recent = usage.of()[:8]
    cells = [tr.locator("td").all_inner_texts() for tr in page.locator("#widget-logs tbody tr").all()]
    assert [c[0] for c in cells] == [f"{log.timestamp:%Y-%m-%d %H:%M:%S}" for log in recent]
    assert [c[1] for c in cells] == [provider_display(log.actual, log.category) for log in recent]

    error = page.locator("#widget-error .bw-error")
    error.wait_for()
    assert error.get_attribute("role") == "alert"
    assert error.inner_text().startswith("Not signed in, or the API token is invalid or revoked (HTTP 401)")
    assert page.locator("#widget-error").get_attribute("data-state") is None


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_screenshots_of_dashboard_and_usage_logs(page, sign_in, screenshot_dir):
    sign_in(page)
    page.wait_for_load_state("networkidle")
    dashboard = screenshot_dir / "dashboard.png"
    page.screenshot(path=str(dashboard), full_page=True)
    width, height = _png_size(dashboard)
    assert width == 1400 and height > 900, (width, height)

    page.goto("/billing/usage-logs")
    logs = screenshot_dir / "usage-logs.png"
    page.screenshot(path=str(logs))
    assert _png_size(logs) == (1400, 900)


def test_chart_is_accessible_and_has_a_table_equivalent(page, sign_in, usage):
    sign_in(page)
    chart = page.locator("svg[role=img]").first
    assert (chart.locator("> title").text_content() or "").strip(), "the chart needs a title"
    for ref in chart.get_attribute("aria-labelledby").split():
        assert (page.locator(f"#{ref}").text_content() or "").strip(), f"aria-labelledby points at nothing: {ref}"

    details = page.locator("details.chart-table")
    table = details.locator("table")
    assert not table.is_visible()
    details.get_by_text("Show the chart as a table").click()
    table.wait_for(state="visible")
    assert details.get_attribute("open") is not None

    start, end = days_range(30)
    per_day: dict[dt.date, Decimal] = defaultdict(Decimal)
    for log in usage.of(start=start, end=end):
        per_day[log.timestamp.date()] += log.cost_total
    rows = [tr.locator("td").all_inner_texts() for tr in table.locator("tbody tr").all()]
    assert len(rows) == 30
    first = start.date()
    assert [r[0] for r in rows] == [(first + dt.timedelta(days=i)).isoformat() for i in range(30)]
    for r in rows:
        assert parse_money(r[-1]) == shown(per_day[dt.date.fromisoformat(r[0])]), r


def test_pages_work_without_javascript(new_page, sign_in, usage):
    page = new_page(java_script_enabled=False)
    sign_in(page)
    page.select_option("#r-range", "last_period")
    with page.expect_navigation():
        page.locator("form.range-form").get_by_role("button", name="Apply").click()
    # Billing periods are UTC calendar months.
    this_month = dt.datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    assert page.locator(".page-head p.muted").inner_text().startswith(f"Billing period {last_month:%Y-%m} (UTC)")
    check_dashboard(page, usage, last_month, this_month)
    page.goto("/billing/usage-logs")
    page.select_option("#f-category", "audio")
    with page.expect_navigation():
        page.locator("form.filters").get_by_role("button", name="Apply").click()
    assert log_count(page) == len(usage.of(category="audio"))


@pytest.mark.parametrize(("preset", "days", "zone"), [
    ("90d", 90, "America/New_York"),  # crosses the end of daylight saving time (2026-11-01)
    ("12m", 365, "Asia/Kolkata"),  # weekly bars, a half-hour offset
])
def test_chart_table_buckets_by_local_day_or_week(page, sign_in, usage, preset, days, zone):
    sign_in(page)
    page.goto(f"/billing?range={preset}&tz={zone}")
    start, end = days_range(days, zone)
    check_dashboard(page, usage, start, end)
    tz = ZoneInfo(zone)
    weekly = days > 100
    buckets: dict[dt.date, Decimal] = defaultdict(Decimal)
    for log in usage.of(start=start, end=end):
        local = log.timestamp.astimezone(tz).date()
        buckets[local - dt.timedelta(days=local.weekday()) if weekly else local] += log.cost_total
    first_day, last_day = start.astimezone(tz).date(), (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    if weekly:
        first_day -= dt.timedelta(days=first_day.weekday())
    step = dt.timedelta(days=7 if weekly else 1)
    expected_starts = []
    while first_day <= last_day:
        expected_starts.append(first_day)
        first_day += step

    page.get_by_text("Show the chart as a table").click()
    rows = [tr.locator("td").all_inner_texts() for tr in page.locator("details.chart-table tbody tr").all()]
    assert [r[0] for r in rows] == [d.isoformat() for d in expected_starts]
    for r in rows:
        assert parse_money(r[-1]) == shown(buckets[dt.date.fromisoformat(r[0])]), r


def test_operator_follows_a_users_numbers_to_their_logs_and_export(page, sign_in, usage):
    """An administrator looking at another user keeps looking at that user through every link."""
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    other = usage.users[OTHER_EMAIL]
    page.goto(f"/billing?user_id={other}")
    assert f"user {other}" in page.locator(".page-head p.muted").inner_text()
    start, end = days_range(30)
    logs = usage.of(OTHER_EMAIL, start=start, end=end)
    assert parse_money(page.get_by_test_id("total-cost").inner_text()) == shown(total_cost(logs))

    page.select_option("#r-range", "90d")
    with page.expect_navigation():
        page.locator("form.range-form").get_by_role("button", name="Apply").click()
    assert query_of(page.url)["user_id"] == str(other)
    start, end = days_range(90)
    logs = usage.of(OTHER_EMAIL, start=start, end=end)
    assert parse_money(page.get_by_test_id("total-cost").inner_text()) == shown(total_cost(logs))

    link = page.locator("[data-testid=provider-table] a.provider-link").first
    slug = query_of(link.get_attribute("href"))["actual_provider"]
    with page.expect_navigation():
        link.click()
    assert query_of(page.url) == {"actual_provider": slug, "start": z(start), "end": z(end), "user_id": str(other)}
    expected = usage.of(OTHER_EMAIL, actual=slug, start=start, end=end)
    assert log_count(page) == len(expected)
    assert [r["id"] for r in visible_logs(page)] == [log.id for log in expected[:50]]

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    with open(info.value.path(), newline="", encoding="utf-8") as handle:
        assert [int(r["id"]) for r in csv.DictReader(handle)] == [log.id for log in expected]


def test_empty_states_say_what_to_do(page, sign_in, usage):
    """The administrator has no usage of their own: the pages say so and what to do next."""
    assert not usage.of(ADMIN_EMAIL)
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert page.get_by_test_id("total-cost").inner_text() == "$0.00"
    empty = page.locator("section.empty")
    assert empty.get_by_role("heading").inner_text() == "No usage in this range"
    assert empty.get_by_role("link", name="API token").is_visible()
    page.goto("/billing/usage-logs")
    assert page.locator("section.empty h2").inner_text() == "No usage recorded yet"
    assert page.get_by_role("link", name="Export CSV").count() == 0
    page.goto("/billing/usage-logs?status=failed&billing_period=2020-01")
    assert page.locator("section.empty h2").inner_text() == "No logs match these filters"
    assert page.get_by_role("link", name="reset the filters").is_visible()



def test_range_form_shows_the_range_whose_numbers_it_shows(page, sign_in):
    sign_in(page)
    today = dt.datetime.now(UTC).date()
    first, last = today - dt.timedelta(days=10), today - dt.timedelta(days=5)
    page.fill("#r-start", first.isoformat())
    page.fill("#r-end", last.isoformat())
    with page.expect_navigation():
        page.locator("form.range-form").get_by_role("button", name="Apply").click()
    heading = page.locator(".page-head p.muted").inner_text()
    match = re.search(r"· (\w{3} \d{2}, \d{4}) – (\w{3} \d{2}, \d{4}) ·", heading)
    assert match, heading
    shown_first, shown_last = (dt.datetime.strptime(g, "%b %d, %Y").date() for g in match.groups())
    # Whatever the fix (switch to Custom, or reset the inputs), the inputs must match the numbers' range.
    assert (page.locator("#r-start").input_value(), page.locator("#r-end").input_value()) == \
        (shown_first.isoformat(), shown_last.isoformat()), heading
