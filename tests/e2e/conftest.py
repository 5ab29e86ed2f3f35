"""End-to-end fixtures: the real app on 127.0.0.1, driven by headless Chromium.

* ``live_server`` (session): its own database from ``make_database`` (SQLite
  file or PostgreSQL, per ``TEST_DATABASE_URL``), built by the real migrations,
  seeded through the real write path (``seed_demo``), served by werkzeug in a
  daemon thread. CSRF is on: the tests use the real forms.
* ``usage`` (session): the same rows read back with plain SQLAlchemy (raw SQL,
  decoded here), so the tests compare the pages with an independent
  computation, never with the app's own query code.
* ``browser`` (session) and ``page`` (per test, fresh context): Debian's
  Chromium at /usr/bin/chromium, no Playwright browser download. Console
  errors, uncaught page errors and 5xx responses fail the test.
* ``sign_in``: signs a page in through the login form.

Screenshots go to ``$E2E_SCREENSHOT_DIR`` (relative paths are taken from the
repository root, e.g. ``E2E_SCREENSHOT_DIR=docs``) or to ``tests/artifacts/``.
Playwright objects live in the test thread only; the server thread never
touches them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server

from portal import create_app
from portal.demo import seed_demo
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 900}
UTC = dt.timezone.utc

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin-password"
# A second user with usage of their own: a page that leaked it would show wrong numbers.
OTHER_EMAIL, OTHER_PASSWORD = "other@example.com", "other-password"
DEMO_ROWS, OTHER_ROWS = 1500, 300
ANY = object()  # "no filter" for Usage.of(actual=...), since None means "unattributed"


def chromium_problem() -> str | None:
    """Why Chromium cannot be used, or None."""
    if not os.path.isfile(CHROMIUM) or not os.access(CHROMIUM, os.X_OK):
        return (f"Chromium is missing: no executable at {CHROMIUM}. The browser tests need Debian's chromium "
                f"package (`apt-get install -y chromium`, which `make test` does as root), or E2E_CHROMIUM=/path.")
    return None


# --- the app, served --------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No access log lines on stderr (pytest shows failures' output anyway)."""

    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str


@pytest.fixture(scope="session")
def live_server(make_database) -> Iterator[LiveServer]:
    """The portal on 127.0.0.1 (random port) with a migrated, seeded database of its own."""
    database_url = make_database()
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "e2e-secret-key",
        "WTF_CSRF_ENABLED": True,
        "SESSION_COOKIE_SECURE": False,
    })
    with app.app_context():
        upgrade()
        seed_demo(DEMO_EMAIL, DEMO_PASSWORD, rows=DEMO_ROWS, seed=20261204)
        seed_demo(OTHER_EMAIL, OTHER_PASSWORD, rows=OTHER_ROWS, seed=7)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", database_url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


# --- the same data, read independently -------------------------------------------------------


@dataclass(frozen=True)
class Log:
    """One stored usage log, decoded here (not by the app's column types)."""

    id: int
    user_id: int
    category: str
    actual: str | None
    model: str | None
    endpoint: str | None
    status_code: int | None
    tokens_total: int
    cost_input: Decimal
    cost_output: Decimal
    cost_total: Decimal
    timestamp: dt.datetime
    billing_period: str
    response_time: float | None
    retry_count: int

    @property
    def failed(self) -> bool:
        """The README's definition: anything but 2xx, including no status."""
        return self.status_code is None or not 200 <= self.status_code <= 299


@dataclass
class Usage:
    """Every user and log in the live server's database."""

    users: dict[str, int]
    logs: list[Log]

    def of(self, email: str = DEMO_EMAIL, *, start: dt.datetime | None = None, end: dt.datetime | None = None,
           actual: object = ANY, category: str | None = None, status: str | None = None) -> list[Log]:
        """A user's logs under the usage-logs filters, newest first (timestamp, then id, descending)."""
        uid = self.users[email]
        chosen = [
            log for log in self.logs
            if log.user_id == uid
            and (start is None or log.timestamp >= start)
            and (end is None or log.timestamp < end)
            and (actual is ANY or log.actual == actual)
            and (category is None or log.category == category)
            and (status is None or (log.failed if status == "failed" else not log.failed))
        ]
        return sorted(chosen, key=lambda log: (log.timestamp, log.id), reverse=True)


def _money(raw, dialect: str) -> Decimal:
    """Stored money: integer units of 10^-8 on SQLite, NUMERIC elsewhere (portal/dbtypes.py documents both)."""
    if dialect == "sqlite":
        assert isinstance(raw, int), f"SQLite money should be integer units, got {raw!r}"
        return Decimal(raw).scaleb(-8)
    return Decimal(raw)


@pytest.fixture(scope="session")
def usage(live_server) -> Iterator[Usage]:
    """The seeded rows, read with raw SQL over a separate engine."""
    engine = sa.create_engine(live_server.database_url)
    try:
        with engine.connect() as conn:
            dialect = conn.dialect.name
            users = {email: uid for uid, email in conn.execute(sa.text("SELECT id, email FROM users"))}
            query = sa.text(
                "SELECT id, user_id, provider, actual_provider_name, model_used, endpoint, status_code, "
                "tokens_total, cost_input, cost_output, cost_total, timestamp, billing_period, response_time, retry_count "
                "FROM api_usage_logs"
            ).columns(timestamp=sa.DateTime())
            logs = [
                Log(r.id, r.user_id, r.provider, r.actual_provider_name, r.model_used, r.endpoint, r.status_code,
                    r.tokens_total, _money(r.cost_input, dialect), _money(r.cost_output, dialect),
                    _money(r.cost_total, dialect), r.timestamp.replace(tzinfo=UTC), r.billing_period,
                    r.response_time, r.retry_count)
                for r in conn.execute(query)
            ]
    finally:
        engine.dispose()
    assert len([log for log in logs if log.user_id == users[DEMO_EMAIL]]) == DEMO_ROWS
    yield Usage(users, logs)


def days_range(days: int, zone: str = "UTC", now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the last ``days`` local days in ``zone``, today included (so ending at
    tomorrow's local midnight), computed here from the README's definition."""
    tz = ZoneInfo(zone)
    today = (now or dt.datetime.now(UTC)).astimezone(tz).date()
    first = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=tz)
    after = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return first.astimezone(UTC), after.astimezone(UTC)


def z(value: dt.datetime) -> str:
    """A UTC instant as the links spell it: ISO 8601 with Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def total_cost(logs: Iterable[Log]) -> Decimal:
    return sum((log.cost_total for log in logs), Decimal(0))


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright (no browser download)."""
    problem = chromium_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    from playwright.sync_api import Error, sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
    except Error as exc:
        playwright.stop()
        pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@dataclass
class BrowserLog:
    """Console errors, uncaught exceptions and server errors seen by a test's pages."""

    problems: list[str] = field(default_factory=list)
    # Tests that provoke an error on purpose (the widget's 401, the CSRF check) allow it explicitly.
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect (and so ignore) problems matching ``pattern``; e.g. the widget's deliberate 401."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def watch(self, page) -> None:
        def on_console(message) -> None:
            if message.type in ("error", "assert"):
                where = message.location.get("url", "") if message.location else ""
                self.problems.append(f"console.{message.type}: {message.text} [{where}]")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.problems.append(f"uncaught exception: {exc}"))
        page.on("response", lambda r: r.status >= 500 and self.problems.append(f"HTTP {r.status} from {r.url}"))
        page.on("requestfailed", self._request_failed)

    def _request_failed(self, request) -> None:
        """A failed request is a problem, except one the browser cancelled itself (net::ERR_ABORTED):
        navigating away mid-load, e.g. a click while the favicon is still coming, aborts it."""
        if "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"request failed: {request.url} ({request.failure})")


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def new_page(browser, live_server, browser_log) -> Iterator[Callable[..., object]]:
    """Factory: a page in a fresh browser context (own cookies), watched for errors."""
    contexts = []

    def make(**options):
        settings = {"base_url": live_server.url, "viewport": VIEWPORT, "locale": "en-US",
                    "timezone_id": "UTC", "accept_downloads": True} | options
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        browser_log.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()
    unexpected = browser_log.unexpected()
    if unexpected:
        pytest.fail("the browser reported errors:\n  " + "\n  ".join(unexpected), pytrace=False)


@pytest.fixture
def page(new_page):
    """A fresh page (JavaScript on) for one test."""
    return new_page()


@pytest.fixture
def sign_in(live_server) -> Callable[..., None]:
    """Sign a page in through the real login form (CSRF token included, as a person would)."""

    def do(page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
        page.goto("/login")
        assert page.locator("form input[name=csrf_token]").count() == 1, "the login form carries no CSRF token"
        page.fill("#email", email)
        page.fill("#password", password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        assert page.locator(".account-email").inner_text().startswith(email), page.content()[:2000]

    return do


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go: $E2E_SCREENSHOT_DIR (relative to the repository root), else tests/artifacts/."""
    raw = os.environ.get("E2E_SCREENSHOT_DIR", "").strip()
    path = Path(raw) if raw else Path("tests/artifacts")
    if not path.is_absolute():
        path = ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path
