"""The scale benchmark of issue 6: one command, one table of figures and ratios.

    python -m bench.scale                                   # SQLite files under /tmp
    python -m bench.scale --sizes 100000,1000000
    DATABASE_URL=postgresql+psycopg://postgres@/postgres?host=/tmp/pg python -m bench.scale

For each size (default 100k, 300k and 1M ``api_usage_logs`` rows; see
``bench.generate`` for the data) it measures, in one run on one machine:

1. **Backfill**: ``flask db upgrade`` of the add-and-backfill revision in a child
   process (wall time, peak RSS from ``wait4``, detector calls from its log line)
   against the floor, a single ``UPDATE api_usage_logs SET actual_provider_name
   = 'x'`` on a fresh copy of the same data through the app's own engine; then
   ``flask providers redetect`` with nothing to change and with a deployment
   catalogue that moves ``flux-*`` from WaveSpeed to fal.ai; and, on a
   100,000-row copy, a naive row-by-row ORM backfill (the anti-pattern the
   issue describes, written below and clearly labelled) against the engine.
2. **Usage-logs API and page** for the heavy user: first page, a page 10,000
   rows deep by offset and by keyset cursor, a filtered page (category + date
   range), the HTML page (first page and page 201): server time p50/p95 through
   the Flask test client, against the bare SQL that fetches the same rows.
3. **Analytics**: ``GET /api/subscription/analytics/providers`` over 90 days and 12
   months, in UTC (whole UTC days and months come from the rollups) and in
   America/New_York (local days cut UTC days, so more is read from the raw rows).
4. **Growth**: all of it per size, side by side.

Targets are printed beside the figures with ok/FAIL; nothing is asserted.
Progress goes to stderr, the report to stdout. Throwaway databases (SQLite files
in a temporary directory, or PostgreSQL databases named ``bench_<pid>_...`` on the
``DATABASE_URL`` server) are removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from bench.generate import HEAVY_EMAIL, PASSWORD, Summary, generate, normalise_url

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REVISION = "0001_initial_schema"
BACKFILL_REVISION = "0002_add_actual_provider_name"
DEFAULT_SIZES = (100_000, 300_000, 1_000_000)
NAIVE_ROWS = 100_000
DEEP_ROWS = 10_000
PAGE = 50
HTML_PAGE_SIZE = 50
ANALYTICS_PATH = "/api/subscription/analytics/providers"
ANALYTICS_CASES = [("90d", "UTC"), ("12m", "UTC"), ("90d", "America/New_York"), ("12m", "America/New_York")]

# Target thresholds (issue 6).
BACKFILL_RATIO = 2.0
RSS_LIMIT_MB = 150.0
API_P95_MS = 30.0
API_RATIO = 3.0
ANALYTICS_P95_MS = 300.0

# A deployment catalogue that moves one family (merge rule: catalogue.py docstring).
MOVE_CATALOGUE = '''# bench: this deployment buys FLUX from fal.ai, not WaveSpeed.
[[families]]
name = "FLUX (served by fal.ai in this deployment)"
provider = "fal"
patterns = ["flux-*"]
'''

BACKFILL_LOG = re.compile(
    r"backfill done: (\d+) rows, (\d+) distinct \(category, model, endpoint\), (\d+) detector calls, (\d+) rows updated")
REDETECT_LOG = re.compile(r"([\d,]+) rows, ([\d,]+) distinct \(category, model, endpoint\), ([\d,]+) detector calls")
CHANGED_LOG = re.compile(r"([\d,]+) rows changed in")


def say(message: str) -> None:
    """Progress, on stderr, with the time of day."""
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def human(n: int) -> str:
    """100000 -> 100k, 1000000 -> 1M."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def parse_sizes(text: str) -> list[int]:
    """'100000,300k,1M' -> [100000, 300000, 1000000]."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        factor = 1
        if part[-1] in "km":
            factor = 1_000 if part[-1] == "k" else 1_000_000
            part = part[:-1]
        sizes.append(int(float(part) * factor))
    return sizes


# --- throwaway databases -----------------------------------------------------------

class SQLiteBackend:
    """SQLite files in a temporary directory under /tmp."""

    kind = "sqlite"

    def __init__(self, keep: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="portal-bench-", dir="/tmp"))
        self.keep = keep

    def _path(self, name: str) -> Path:
        return self.dir / f"{name}.sqlite3"

    def url(self, name: str) -> str:
        return f"sqlite:///{self._path(name)}"

    def create(self, name: str) -> str:
        self.drop(name)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        """A fresh file copy (plus a WAL file, should one be left)."""
        self.drop(name)
        shutil.copyfile(self._path(source), self._path(name))
        for suffix in ("-wal", "-shm"):
            extra = Path(str(self._path(source)) + suffix)
            if extra.exists():
                shutil.copyfile(extra, str(self._path(name)) + suffix)
        return self.url(name)

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self._path(name)) + suffix).unlink(missing_ok=True)

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (files in {self.dir})"

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class PostgresBackend:
    """Databases named bench_<pid>_<name> on the DATABASE_URL server, copied by TEMPLATE."""

    kind = "postgresql"

    def __init__(self, server_url: str, keep: bool = False) -> None:
        self.admin = sa.create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
        self.prefix = f"bench_{os.getpid()}_"
        self.created: list[str] = []
        self.keep = keep

    def _db(self, name: str) -> str:
        return self.prefix + name

    def url(self, name: str) -> str:
        return self.admin.url.set(database=self._db(name)).render_as_string(hide_password=False)

    def create(self, name: str) -> str:
        self.drop(name)
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self._db(name)}"')
        self.created.append(name)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        self.drop(name)
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self._db(name)}" TEMPLATE "{self._db(source)}" STRATEGY FILE_COPY')
        self.created.append(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._db(name)}" WITH (FORCE)')

    def describe(self) -> str:
        with self.admin.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
            settings = dict(conn.exec_driver_sql(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'maintenance_work_mem', 'max_wal_size', 'fsync', "
                "'synchronous_commit', 'full_page_writes', 'random_page_cost', 'jit')").all())
        shown = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
        return f"PostgreSQL {version} ({shown})"

    def close(self) -> None:
        if not self.keep:
            for name in dict.fromkeys(self.created):
                with contextlib.suppress(Exception):
                    self.drop(name)
        self.admin.dispose()


# --- child processes ------------------------------------------------------------------

@dataclass
class Child:
    """A finished child process: wall time, its own peak RSS, exit code, output."""

    wall: float
    rss_mb: float
    code: int
    out: str
    err: str

    def check(self, what: str) -> "Child":
        if self.code != 0:
            raise RuntimeError(f"{what} failed (exit {self.code}):\n{self.out[-3000:]}\n{self.err[-3000:]}")
        return self


# A small launcher between this (large) process and the measured one: on Linux, a child's
# ru_maxrss includes the RSS it inherited before exec, so a child forked straight from
# here would report this process's size. Forked from the launcher, it reports its own.
_LAUNCHER = (
    "import os, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "wall = time.perf_counter() - t\n"
    "p.returncode = os.waitstatus_to_exitcode(status)\n"
    "sys.stderr.write('\\n@@bench %d %.6f\\n' % (usage.ru_maxrss, wall))\n"
    "sys.exit(p.returncode if p.returncode >= 0 else 1)\n"
)
_LAUNCHER_OUT = re.compile(r"@@bench (\d+) ([\d.]+)\s*$")


def run_child(args: list[str], database_url: str, catalogue: str | None = None) -> Child:
    """``python <args>`` in the project root with DATABASE_URL set: its wall time and its own peak RSS."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env.pop("PROVIDER_CATALOGUE", None)
    if catalogue:
        env["PROVIDER_CATALOGUE"] = catalogue
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        code = subprocess.call([sys.executable, "-c", _LAUNCHER, sys.executable, *args],
                               cwd=ROOT, env=env, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    match = _LAUNCHER_OUT.search(stderr)
    if match is None:
        raise RuntimeError(f"launcher failed (exit {code}):\n{stderr[-3000:]}")
    return Child(float(match.group(2)), int(match.group(1)) / 1024, code, stdout, stderr[:match.start()])


def flask(*args: str) -> list[str]:
    return ["-m", "flask", "--app", "wsgi", *args]


# --- the app, in this process -----------------------------------------------------------

@contextlib.contextmanager
def bench_app(url: str) -> Iterator[Any]:
    """The real app on ``url`` (bundled catalogue, CSRF off for the scripted login); engine disposed after."""
    from portal import create_app
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False,
                      "PROVIDER_CATALOGUE": None})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def explain(conn: sa.Connection, sql: str, params: Any, analyze: bool = True) -> list[str]:
    """The plan: EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
    return [r[0] for r in conn.exec_driver_sql(prefix + sql, params).all()]


def measure_floor(url: str, plans: dict[str, list[str]]) -> tuple[float, float]:
    """On a fresh copy of the legacy data: add the column, then time the single UPDATE (the floor)
    and, for context, the index the migration builds after its backfill. Uses the app's engine, so
    its connection settings (e.g. SQLite WAL) are the ones the backfill runs with."""
    from portal.extensions import db

    with bench_app(url) as app, app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE api_usage_logs ADD COLUMN actual_provider_name VARCHAR(50)")
        plans.update(backfill_plans(engine))
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE api_usage_logs SET actual_provider_name = 'x'")
        floor = time.perf_counter() - started
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE INDEX bench_floor_ix ON api_usage_logs (user_id, actual_provider_name, timestamp)")
        index = time.perf_counter() - started
    return floor, index


def backfill_plans(engine: sa.Engine) -> dict[str, list[str]]:
    """Plans of the attribution engine's survey and of one batch of its UPDATE (column present, all NULL).

    Uses the engine's own statement builders; if they change shape, says so instead of failing.
    """
    try:
        from portal.providers import default_detector
        from portal.usage import attribution

        with engine.connect() as conn:
            surveyed = attribution.survey(conn)
            first_id = conn.scalar(sa.text("SELECT min(id) FROM api_usage_logs"))
        mapping, _ = attribution.plan(surveyed, default_detector().detect)
        batch = getattr(attribution, "DEFAULT_BATCH_SIZE", 50_000)
        mapping_rows = len(mapping)
        t = attribution.usage_logs
        model = sa.func.coalesce(t.c.model_used, "")
        endpoint = sa.func.coalesce(t.c.endpoint, "")
        def update_statement(conn):
            # The engine's mapping source: a keyed temp table on SQLite (made on this
            # connection), a VALUES list elsewhere.
            if engine.dialect.name == "sqlite":
                source = attribution._temp_table_source(conn, mapping)
            else:
                source = attribution._values_sources(mapping)[0]
            return attribution._update_statement(source, first_id, first_id + batch)

        statements = {
            "backfill survey (one GROUP BY over the table)": lambda conn: sa.select(
                t.c.provider, model, endpoint, t.c.actual_provider_name, sa.func.count()
            ).group_by(t.c.provider, model, endpoint, t.c.actual_provider_name),
            f"backfill: one batch UPDATE (ids {first_id}..{first_id + batch - 1}, {mapping_rows} mapping rows)":
                update_statement,
        }
        out = {}
        for name, build in statements.items():
            with engine.connect() as conn:
                statement = build(conn)
                compiled = statement.compile(dialect=engine.dialect)
                params = compiled.construct_params()
                args = tuple(params[k] for k in compiled.positiontup) if compiled.positional else params
                started = time.perf_counter()
                try:
                    out[name] = explain(conn, compiled.string, args)
                finally:
                    conn.rollback()  # EXPLAIN ANALYZE of the UPDATE really runs it on PostgreSQL
                if engine.dialect.name == "sqlite":
                    # No EXPLAIN ANALYZE on SQLite: time the statement itself, then undo it.
                    started = time.perf_counter()
                    conn.exec_driver_sql(compiled.string, args).fetchall() if "SELECT" == compiled.string[:6] else \
                        conn.exec_driver_sql(compiled.string, args)
                    out[name].append(f"(executed in {time.perf_counter() - started:.3f} s, then rolled back)")
                    conn.rollback()
        return out
    except Exception as exc:  # pragma: no cover - diagnostic only
        return {"backfill plans": [f"unavailable: {type(exc).__name__}: {exc}"]}


# =====================================================================================
# ANTI-PATTERN, kept here on purpose as the baseline of issue 6 ("Why"): load every
# un-attributed row into memory as ORM objects, run the detector once PER ROW, commit
# once at the end. Minutes of locks and memory growing with the table; a failure
# loses everything. Never use this in the app; it only exists to be measured against.
# =====================================================================================

def naive_orm_backfill(url: str) -> dict:
    """ANTI-PATTERN (see the banner above). Runs in a child process: ``--naive-orm-backfill URL``."""
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    from portal.dbtypes import ExactMoney, UTCDateTime
    from portal.providers import default_detector

    class Base(DeclarativeBase):
        pass

    class LegacyLog(Base):
        """The old script's own model of the table (legacy columns + the new one)."""

        __tablename__ = "api_usage_logs"
        id = mapped_column(sa.Integer, primary_key=True)
        user_id = mapped_column(sa.Integer)
        provider = mapped_column(sa.String(20))
        endpoint = mapped_column(sa.String(500))
        method = mapped_column(sa.String(10))
        model_used = mapped_column(sa.String(200))
        actual_provider_name = mapped_column(sa.String(50))
        tokens_input = mapped_column(sa.Integer)
        tokens_output = mapped_column(sa.Integer)
        tokens_total = mapped_column(sa.Integer)
        cost_input = mapped_column(ExactMoney())
        cost_output = mapped_column(ExactMoney())
        cost_total = mapped_column(ExactMoney())
        response_time = mapped_column(sa.Float)
        status_code = mapped_column(sa.Integer)
        error_message = mapped_column(sa.Text)
        retry_count = mapped_column(sa.Integer)
        request_size = mapped_column(sa.Integer)
        response_size = mapped_column(sa.Integer)
        timestamp = mapped_column(UTCDateTime())
        billing_period = mapped_column(sa.String(7))
        created_at = mapped_column(UTCDateTime())

    detector = default_detector()
    engine = sa.create_engine(normalise_url(url))
    started = time.perf_counter()
    with Session(engine) as session:
        rows = session.scalars(sa.select(LegacyLog).where(LegacyLog.actual_provider_name.is_(None))).all()
        loaded = time.perf_counter() - started
        for row in rows:  # the detector once per row, not once per distinct triple
            row.actual_provider_name = detector.detect_uncached(row.provider, row.model_used, row.endpoint)
        session.commit()  # one commit at the end
    engine.dispose()
    return {"rows": len(rows), "detector_calls": len(rows), "load_s": loaded, "total_s": time.perf_counter() - started}


# --- usage-logs API and page -----------------------------------------------------------------

def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds (nearest rank)."""
    ordered = sorted(samples)
    rank = lambda q: ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # noqa: E731
    return rank(0.50) * 1000, rank(0.95) * 1000


def timed(fn: Callable[[], Any], requests: int, warmup: int = 3) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


@dataclass
class Case:
    """One page to time: the app request, and the bare SQL that fetches the same rows."""

    key: str
    label: str
    path: str
    query: dict
    where: str  # extra SQL conditions after "user_id = {int}"; placeholders {int} {ts} {str}
    params: tuple
    offset: int = 0
    html: bool = False
    count_where: str | None = None
    count_params: tuple = ()


def measure_api(url: str, summary: Summary, requests: int, plans: dict[str, list[str]]) -> dict:
    """Server time of the usage-logs API and page for the heavy user vs the bare SQL, plus analytics."""
    from portal.auth.tokens import create_token, find_token
    from portal.extensions import db
    from portal.models import APIUsageLog, User
    from portal.usage.queries import encode_cursor

    results: dict[str, Any] = {}
    sqlite = url.startswith("sqlite")
    user_id = summary.heavy_user_id
    # 10,000 rows deep (page 201 of the HTML list); shallower only when the heavy user has fewer rows.
    deep = DEEP_ROWS if summary.heavy_rows > DEEP_ROWS + PAGE else (summary.heavy_rows // 2 // PAGE) * PAGE

    def sql_ts(value: dt.datetime):
        naive = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else naive

    with bench_app(url) as app:
        with app.app_context():
            user = db.session.get(User, user_id)
            _, plain = create_token(user, name="bench", scopes=frozenset({"read"}))
            t = APIUsageLog
            newest_first = (t.timestamp.desc(), t.id.desc())
            anchor_ts, anchor_id = db.session.execute(
                sa.select(t.timestamp, t.id).where(t.user_id == user_id).order_by(*newest_first)
                .offset(deep - 1).limit(1)).one()
            cursor = encode_cursor(anchor_ts, anchor_id)
            # Filtered page: the heavy user's busiest category over a 60-day window a month back.
            category = db.session.execute(
                sa.select(t.provider, sa.func.count()).where(t.user_id == user_id).group_by(t.provider)
                .order_by(sa.func.count().desc()).limit(1)).one()[0]
            category = getattr(category, "value", category)
            end = summary.end.replace(tzinfo=dt.timezone.utc) - dt.timedelta(days=30)
            start = end - dt.timedelta(days=60)
            # Auth cost alone: the token lookup every API request makes (it also commits last_used_at).
            results["auth"] = timed(lambda: find_token(plain), requests)
            db.session.remove()

        iso = lambda v: v.isoformat().replace("+00:00", "Z")  # noqa: E731
        filtered_where = " AND provider = {str} AND timestamp >= {ts} AND timestamp < {ts}"
        filtered_params = (category, sql_ts(start), sql_ts(end))
        cases = [
            Case("first", "API first page", "/api/subscription/usage-logs", {"limit": PAGE}, "", (),
                 count_where="", count_params=()),
            Case("offset", f"API offset {deep:,}", "/api/subscription/usage-logs",
                 {"limit": PAGE, "offset": deep}, "", (), offset=deep),
            Case("cursor", f"API cursor @{deep:,}", "/api/subscription/usage-logs",
                 {"limit": PAGE, "cursor": cursor}, " AND (timestamp, id) < ({ts}, {int})", (sql_ts(anchor_ts), anchor_id)),
            Case("filtered", f"API filtered ({category}, 60 d)", "/api/subscription/usage-logs",
                 {"limit": PAGE, "provider": category, "start": iso(start), "end": iso(end)},
                 filtered_where, filtered_params, count_where=filtered_where, count_params=filtered_params),
            Case("html", "HTML page 1", "/billing/usage-logs", {}, "", (), html=True),
            Case("html_deep", f"HTML page {deep // HTML_PAGE_SIZE + 1}", "/billing/usage-logs",
                 {"page": deep // HTML_PAGE_SIZE + 1}, "", (), offset=deep, html=True),
        ]
        results["filter_desc"] = f"provider={category}, {start:%Y-%m-%d}..{end:%Y-%m-%d}"

        api = app.test_client()
        headers = {"Authorization": f"Bearer {plain}"}
        browser = app.test_client()
        login = browser.post("/login", data={"email": HEAVY_EMAIL, "password": PASSWORD})
        if login.status_code != 302:
            raise RuntimeError(f"bench login failed: {login.status_code} {login.data[:300]!r}")

        # The framework's own floor per request: hooks, error handler, JSON; no database.
        results["framework"] = timed(lambda: api.get("/api/bench-no-such-route", headers=headers), requests)

        engine = sa.create_engine(url)
        with app.app_context():
            app_engine = db.engine

        try:
            raw = engine.raw_connection()
            driver = getattr(raw, "driver_connection", None)
            if hasattr(driver, "prepare_threshold"):
                # psycopg prepares a statement from its 5th execution; PostgreSQL may then switch to a
                # generic plan sized for an average user, 10-50x slower for the heavy one. The floor is
                # the query planned for its actual values, so no server-side prepare here.
                driver.prepare_threshold = None
            cur = raw.cursor()
            # Typed placeholders on PostgreSQL, as SQLAlchemy renders them for the app (int, not smallint).
            marks = ({"int": "?", "ts": "?", "str": "?"} if sqlite else
                     {"int": "%s::integer", "ts": "%s::timestamp", "str": "%s::varchar"})
            for case in cases:
                sql = (f"SELECT * FROM api_usage_logs WHERE user_id = {{int}}{case.where} "
                       f"ORDER BY timestamp DESC, id DESC LIMIT {PAGE + 1}" + (f" OFFSET {case.offset}" if case.offset else ""))
                params = (user_id, *case.params)
                sql = sql.format(**marks)

                def bare(sql=sql, params=params):
                    cur.execute(sql, params)
                    return cur.fetchall()

                client, extra = (browser, {}) if case.html else (api, {"headers": headers})

                def call(case=case, client=client, extra=extra):
                    response = client.get(case.path, query_string=case.query, **extra)
                    if response.status_code != 200:
                        raise RuntimeError(f"{case.label}: HTTP {response.status_code}: {response.data[:300]!r}")
                    return response

                # One request under watch: what SQL it sends (and how long each takes); the API's rows
                # must be the bare SQL's rows.
                try:
                    with capture_sql(app_engine) as sent:
                        response = call()
                except Exception as exc:  # the app is edited while benchmarks run: report, go on
                    say(f"ERROR {case.label}: {type(exc).__name__}: {str(exc)[:300]}")
                    status = re.search(r"HTTP \d+", str(exc))
                    results[case.key] = {"label": case.label, "error": status.group(0) if status else type(exc).__name__}
                    continue
                plans[f"SQL sent by one request: {case.label} (ms each)"] = [s.line() for s in sent]
                if not case.html:
                    got = [log["id"] for log in response.get_json()["logs"]]
                    want = [row[0] for row in bare()[:PAGE]]
                    if got != want:
                        say(f"WARNING {case.label}: API ids differ from the bare SQL ({got[:3]}... vs {want[:3]}...)")
                app_p = timed(call, requests)
                sql_p = timed(bare, requests)
                results[case.key] = {"label": case.label, "app": app_p, "sql": sql_p}
                rows_stmt = next((s for s in sent if s.reads_logs and "ORDER BY" in s.statement), None)
                count_stmt = next((s for s in sent if s.reads_logs and "count(" in s.statement.lower()), None)
                if count_stmt is not None:
                    # The app's own count statement (exact, capped or estimated: whatever it sends), replayed.
                    def count(stmt=count_stmt):
                        cur.execute(stmt.statement, stmt.parameters)
                        return cur.fetchall()

                    results[case.key]["count"] = timed(count, max(10, requests // 2))
                with engine.connect() as conn:
                    plans[f"plan: bare SQL for {case.label}"] = explain(conn, sql, params)
                    for name, stmt in (("the app's rows query", rows_stmt), ("the app's count query", count_stmt)):
                        if stmt is not None:
                            plans[f"plan: {name} for {case.label}"] = (
                                [" ".join(stmt.statement.split())[:300]] + explain(conn, stmt.statement, stmt.parameters))
            cur.close()
            raw.close()
        finally:
            engine.dispose()

        results["analytics"] = measure_analytics(app, api, headers, requests, app_engine, plans)
    return results


@dataclass
class SentSQL:
    """One statement an app request sent, with its parameters and time."""

    statement: str
    parameters: Any
    ms: float = 0.0

    @property
    def reads_logs(self) -> bool:
        return self.statement.lstrip().upper().startswith("SELECT") and "api_usage_logs" in self.statement

    def line(self) -> str:
        return f"{self.ms:8.2f}  {' '.join(self.statement.split())[:130]}"


@contextlib.contextmanager
def capture_sql(engine: sa.Engine) -> Iterator[list[SentSQL]]:
    """Record every statement ``engine`` executes inside the block, with its duration."""
    sent: list[SentSQL] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append(SentSQL(statement, parameters))
        context._bench_started = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        sent[-1].ms = (time.perf_counter() - context._bench_started) * 1000

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


# ---- ANALYTICS HOOK (issue 6, target 3) ---------------------------------------------------
# Times GET /api/subscription/analytics/providers?range=90d and ?range=12m for the heavy
# user (p50/p95) once the route exists in app.url_map; until then reports "not built yet".
def measure_analytics(app, client, headers: dict, requests: int, app_engine=None, plans=None) -> dict | str:
    """p50/p95 (ms) per range, or 'not built yet' when the route does not exist.

    With ``app_engine`` and ``plans``: also records the SQL one request of each range sends (ms each)
    and the plan of its slowest statement.
    """
    if ANALYTICS_PATH not in {rule.rule for rule in app.url_map.iter_rules()}:
        return "not built yet"
    out: dict[str, Any] = {}
    for window, zone in ANALYTICS_CASES:
        def call(window=window, zone=zone):
            response = client.get(ANALYTICS_PATH, query_string={"range": window, "tz": zone}, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"analytics {window}: HTTP {response.status_code}: {response.data[:300]!r}")
        try:
            if app_engine is not None and plans is not None:
                with capture_sql(app_engine) as sent:
                    call()
                plans[f"SQL sent by one analytics request, range={window} tz={zone} (ms each)"] = [s.line() for s in sent]
                slowest = max(sent, key=lambda s: s.ms, default=None)
                if slowest is not None:
                    with app_engine.connect() as conn:
                        plans[f"plan: slowest analytics statement, range={window} tz={zone}"] = (
                            [" ".join(slowest.statement.split())[:300]] + explain(conn, slowest.statement, slowest.parameters))
            out[f"{window} {zone}"] = timed(call, max(10, requests // 2))
        except Exception as exc:  # report, go on
            say(f"ERROR analytics {window} {zone}: {type(exc).__name__}: {str(exc)[:300]}")
            out[f"{window} {zone}"] = str(exc)
    return out


# --- one size, end to end ---------------------------------------------------------------------------

@dataclass
class SizeResult:
    rows: int
    figures: dict[str, Any] = field(default_factory=dict)
    plans: dict[str, list[str]] = field(default_factory=dict)


def backfill(backend, template: str, name: str) -> tuple[Child, Child, Child, str]:
    """Copy the legacy data, then ``flask db upgrade`` to the backfill revision, then to head."""
    url = backend.copy(template, name)
    startup = run_child(flask("db", "current"), url).check("flask db current")
    step = run_child(flask("db", "upgrade", BACKFILL_REVISION), url).check("flask db upgrade (backfill)")
    rest = run_child(flask("db", "upgrade"), url).check("flask db upgrade (to head)")
    return startup, step, rest, url


def run_size(backend, rows: int, args, end: dt.datetime, naive_from_here: bool) -> SizeResult:
    result = SizeResult(rows)
    f = result.figures
    tag = human(rows)
    say(f"{tag}: generating the legacy data (schema before)")
    before = generate(backend.create(f"{tag}_before"), rows, seed=args.seed, schema="before", end=end, log=say)
    f["gen_before_s"] = before.seconds
    f["triples"] = before.triples
    f["heavy_rows"] = before.heavy_rows

    say(f"{tag}: floor (single UPDATE on a fresh copy)")
    floor_url = backend.copy(f"{tag}_before", f"{tag}_floor")
    f["floor_s"], f["floor_index_s"] = measure_floor(floor_url, result.plans)
    backend.drop(f"{tag}_floor")

    say(f"{tag}: backfill (flask db upgrade {BACKFILL_REVISION}) on a fresh copy")
    startup, step, rest, bf_url = backfill(backend, f"{tag}_before", f"{tag}_backfill")
    f["startup_s"], f["startup_rss"] = startup.wall, startup.rss_mb
    f["backfill_s"], f["backfill_rss"] = step.wall, step.rss_mb
    f["rest_s"] = rest.wall
    match = BACKFILL_LOG.search(step.err + step.out)
    f["backfill_calls"] = int(match.group(3)) if match else None
    f["backfill_updated"] = int(match.group(4)) if match else None

    say(f"{tag}: flask providers redetect, nothing to change")
    same = run_child(flask("providers", "redetect"), bf_url).check("redetect")
    f["redetect_same_s"], f["redetect_same_rss"] = same.wall, same.rss_mb
    match = REDETECT_LOG.search(same.out)
    f["redetect_same_calls"] = int(match.group(3).replace(",", "")) if match else None

    say(f"{tag}: flask providers redetect with a catalogue moving flux-* to fal.ai")
    catalogue = Path(tempfile.mkdtemp(prefix="portal-bench-cat-", dir="/tmp")) / "deployment.toml"
    catalogue.write_text(MOVE_CATALOGUE)
    try:
        moved = run_child(flask("providers", "redetect"), bf_url, catalogue=str(catalogue)).check("redetect (move)")
    finally:
        shutil.rmtree(catalogue.parent, ignore_errors=True)
    f["redetect_move_s"], f["redetect_move_rss"] = moved.wall, moved.rss_mb
    match = REDETECT_LOG.search(moved.out)
    f["redetect_move_calls"] = int(match.group(3).replace(",", "")) if match else None
    match = CHANGED_LOG.search(moved.out)
    f["redetect_move_rows"] = int(match.group(1).replace(",", "")) if match else 0
    backend.drop(f"{tag}_backfill")

    if naive_from_here:
        f.update(run_naive(backend, f"{tag}_before", engine_backfill_s=f["backfill_s"]))
    backend.drop(f"{tag}_before")

    say(f"{tag}: generating the current data (schema head) for the API")
    head = generate(backend.create(f"{tag}_head"), rows, seed=args.seed, schema="head", end=end, log=say)
    f["gen_head_s"] = head.seconds
    say(f"{tag}: usage-logs API and page, {args.requests} requests per case")
    try:
        f["api"] = measure_api(head.url, head, args.requests, result.plans)
    except Exception as exc:  # keep the backfill figures of this size
        say(f"ERROR API measurements at {tag}: {type(exc).__name__}: {str(exc)[:500]}")
        f["api"] = {"error": f"{type(exc).__name__}"}
    backend.drop(f"{tag}_head")
    return result


def run_naive(backend, template: str, engine_backfill_s: float | None) -> dict:
    """The anti-pattern on a copy of ``template`` (the engine's figure on the same data is passed in or measured)."""
    out: dict[str, Any] = {}
    if engine_backfill_s is None:
        say("naive: engine backfill on the same data, for the ratio")
        _, step, _, _ = backfill(backend, template, "naive_engine")
        engine_backfill_s = step.wall
        backend.drop("naive_engine")
    say("naive: row-by-row ORM backfill (the anti-pattern) on a fresh copy")
    url = backend.copy(template, "naive")
    from portal.extensions import db

    with bench_app(url) as app, app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE api_usage_logs ADD COLUMN actual_provider_name VARCHAR(50)")
    child = run_child(["-m", "bench.scale", "--naive-orm-backfill", url], url).check("naive ORM backfill")
    backend.drop("naive")
    report = json.loads(child.out.strip().splitlines()[-1])
    out["naive_s"], out["naive_rss"], out["naive_rows"] = child.wall, child.rss_mb, report["rows"]
    out["naive_engine_s"] = engine_backfill_s
    return out


# --- the report ------------------------------------------------------------------------------------

def machine_lines(backend) -> list[str]:
    from importlib.metadata import version

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    code = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "portal", "migrations", "templates"],
                               cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
        code = f"git {head}" + (f" + {len(dirty)} uncommitted change(s) in portal/, migrations/, templates/" if dirty else "")
    return [
        f"date:      {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"code:      {code}",
        f"machine:   {cpu}, {os.cpu_count()} CPUs{memory}, {platform.system()} {platform.release()}",
        f"python:    {platform.python_version()}; SQLAlchemy {sa.__version__}; Flask {version('flask')}; "
        f"sqlite3 library {sqlite3.sqlite_version}",
        f"database:  {backend.describe()}",
    ]


def mark(ok: bool | None) -> str:
    return "" if ok is None else (" ok" if ok else " FAIL")


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: list[SizeResult], backend_kind: str) -> list[str]:
    """Rows of figures (one column per size), each with its target and an ok/FAIL mark."""
    rows: list[tuple[str, str, Callable[[dict], str]]] = []

    def ratio(a, b):
        return None if a is None or not b else a / b

    def add(label, target, fn):
        rows.append((label, target, fn))

    def section(title):
        rows.append((title, None, None))

    section("Backfill and redetect (child processes; RSS = that process's peak)")
    add("flask CLI start-up, 'db current' (s)", "", lambda f: fmt(f["startup_s"]))
    add("  its peak RSS (MB)", "info", lambda f: fmt(f["startup_rss"], 0))
    add("floor: one UPDATE ... SET = 'x' (s)", "", lambda f: fmt(f["floor_s"]))
    add("floor per row (us)", "", lambda f: fmt(f["floor_s"] / f["_rows"] * 1e6))
    add("floor + CREATE INDEX afterwards (s)", "", lambda f: fmt(f["floor_s"] + f["floor_index_s"]))
    add(f"backfill: db upgrade {BACKFILL_REVISION[:4]} (s)", "", lambda f: fmt(f["backfill_s"]))
    add("backfill per row (us)", "flat", lambda f: fmt(f["backfill_s"] / f["_rows"] * 1e6))
    add("backfill / floor", f"<= {BACKFILL_RATIO:g}x",
        lambda f: fmt(r := ratio(f["backfill_s"], f["floor_s"]), 1) + "x" + mark(r <= BACKFILL_RATIO))
    add("(backfill - start-up) / floor", "info",
        lambda f: fmt(ratio(f["backfill_s"] - f["startup_s"], f["floor_s"]), 1) + "x")
    add("backfill / (floor + index)", "info",
        lambda f: fmt(ratio(f["backfill_s"], f["floor_s"] + f["floor_index_s"]), 1) + "x")
    add("backfill peak RSS (MB)", f"< {RSS_LIMIT_MB:g}",
        lambda f: fmt(f["backfill_rss"], 0) + mark(f["backfill_rss"] < RSS_LIMIT_MB))
    add("backfill detector calls / triples", "= triples",
        lambda f: f"{f['backfill_calls']}/{f['triples']}" + mark(f["backfill_calls"] == f["triples"]))
    add("then db upgrade to head (s)", "info", lambda f: fmt(f["rest_s"]))
    for key, label in (("redetect_same", "redetect, nothing to change (s)"),
                       ("redetect_move", "redetect, flux-* moved to fal.ai (s)")):
        add(label, "", lambda f, k=key: fmt(f[f"{k}_s"]))
        if key == "redetect_move":
            add("  rows changed", "info", lambda f: f"{f['redetect_move_rows']:,}")
        add("  / floor", f"<= {BACKFILL_RATIO:g}x",
            lambda f, k=key: fmt(r := ratio(f[f"{k}_s"], f["floor_s"]), 1) + "x" + mark(r <= BACKFILL_RATIO))
        add("  peak RSS (MB)", f"< {RSS_LIMIT_MB:g}",
            lambda f, k=key: fmt(f[f"{k}_rss"], 0) + mark(f[f"{k}_rss"] < RSS_LIMIT_MB))
        add("  detector calls / triples", "= triples",
            lambda f, k=key: f"{f[f'{k}_calls']}/{f['triples']}" + mark(f[f"{k}_calls"] == f["triples"]))
    add("naive row-by-row ORM backfill (s)", "info",
        lambda f: f"{fmt(f['naive_s'])} @{human(f['naive_rows'])}" if "naive_s" in f else "")
    add("  its peak RSS (MB)", "info", lambda f: fmt(f["naive_rss"], 0) if "naive_s" in f else "")
    add("  naive / engine backfill", "info",
        lambda f: fmt(ratio(f["naive_s"], f["naive_engine_s"]), 1) + "x" if "naive_s" in f else "")

    section("Usage-logs API and page, heavy user (p50 / p95 ms, Flask test client)")
    add("framework floor: a 404 under /api/, no DB", "info", lambda f: "{:.1f} / {:.1f}".format(*f["api"]["framework"]))
    add("token auth alone (lookup + commit)", "info", lambda f: "{:.1f} / {:.1f}".format(*f["api"]["auth"]))
    for key in ("first", "offset", "cursor", "filtered", "html", "html_deep"):
        def label_of(key=key):
            for r in results:
                if key in r.figures["api"]:
                    return r.figures["api"][key]["label"]
            return key

        def case_cell(f, key, fn):
            data = f["api"][key]
            return data["error"] if "error" in data else fn(data)

        add(label_of(), f"p95 < {API_P95_MS:g}", lambda f, key=key: case_cell(
            f, key, lambda d: "{:.1f} / {:.1f}".format(*d["app"]) + mark(d["app"][1] < API_P95_MS)))
        add("  bare SQL, same rows", "", lambda f, key=key: case_cell(f, key, lambda d: "{:.2f} / {:.2f}".format(*d["sql"])))
        if any("count" in r.figures["api"].get(key, {}) for r in results):
            add("  its count query, replayed", "info", lambda f, key=key: case_cell(
                f, key, lambda d: "{:.2f} / {:.2f}".format(*d["count"]) if "count" in d else ""))
        add("  app / SQL (p95)", f"<= {API_RATIO:g}x", lambda f, key=key: case_cell(
            f, key, lambda d: fmt(r := ratio(d["app"][1], d["sql"][1]), 1) + "x" + mark(r <= API_RATIO)))

    section("Analytics, heavy user (p50 / p95 ms)")
    for window, zone in ANALYTICS_CASES:
        def analytics(f, key=f"{window} {zone}"):
            a = f["api"]["analytics"]
            if isinstance(a, str):
                return a
            v = a.get(key)
            if isinstance(v, str):
                return "error"
            return "{:.1f} / {:.1f}".format(*v) + mark(v[1] < ANALYTICS_P95_MS)
        add(f"GET {ANALYTICS_PATH.rsplit('/', 1)[-1]}?range={window}&tz={zone}", f"p95 < {ANALYTICS_P95_MS:g}", analytics)

    for r in results:
        r.figures["_rows"] = r.rows
    width = max(len(label) for label, _, _ in rows) + 2
    cell = 21
    lines = [f"{'rows in api_usage_logs':<{width}}{'target':<12}" + "".join(f"{human(r.rows):>{cell}}" for r in results)]
    lines.append(f"{'  heavy user rows / distinct triples':<{width}}{'':<12}" + "".join(
        f"{r.figures['heavy_rows']:,} / {r.figures['triples']}".rjust(cell) for r in results))
    for label, target, fn in rows:
        if fn is None:
            lines.append("")
            lines.append(f"{label}")
            continue
        cells = []
        for r in results:
            try:
                cells.append(fn(r.figures))
            except (KeyError, TypeError):
                cells.append("n/a")
        lines.append(f"{label:<{width}}{target:<12}" + "".join(c.rjust(cell) for c in cells))
    return lines


_PLAN_DETAIL = ("Buffers:", "Planning", "Heap", "Recheck", "Index Cond", "Filter", "Sort ", "Group Key", "Hash Cond",
                "Join Filter", "Workers", "JIT", "Functions", "Options", "Timing", "Worker ", "Batches", "Buckets",
                "Presorted", "Full-sort", "Rows Removed", "Output", "Pre-sorted", "Order By", "Memory")


def plan_summary(lines: list[str]) -> str:
    """'Limit > Index Scan Backward using ix_... on api_usage_logs [Execution Time: 1.40 ms]' from a plan listing."""
    nodes, timing = [], ""
    for line in lines:
        text = line.strip()
        if text.startswith(("SELECT", "UPDATE", "WITH")):
            continue  # the statement shown above a plan
        if text.startswith(("Execution Time:", "(executed in")):
            timing = text
            continue
        text = text[2:].strip() if text.startswith("->") else text
        if "(cost=" in text:
            nodes.append(text.split("  (cost=")[0])  # PostgreSQL plan node
        elif not text.startswith(_PLAN_DETAIL):
            nodes.append(text)  # SQLite EXPLAIN QUERY PLAN line
    return " > ".join(nodes) + (f"  [{timing}]" if timing else "")


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "unknown"


def report(results: list[SizeResult], backend, header: list[str], args, started: float, header_load: str) -> None:
    out = print
    out("")
    out(f"=== bench.scale: {backend.kind} ===")
    for line in header:
        out(line)
    out(f"load avg:  {header_load} at start, {load_average()} at the end (1/5/15 min; this machine has {os.cpu_count()} CPUs)")
    out(f"command:   python -m bench.scale --sizes {','.join(str(r.rows) for r in results)} "
        f"(requests per case {args.requests}, seed {args.seed}); total {time.perf_counter() - started:,.0f} s")
    filters = {r.figures['api'].get('filter_desc') for r in results}
    out(f"filtered page: {'; '.join(sorted(f for f in filters if f))}")
    out("")
    for line in table(results, backend.kind):
        out(line)
    out("")
    out("Notes: ratios are measured in this run on this machine. The backfill and redetect figures are whole")
    out("child processes (interpreter and app start-up included; see the start-up row). The API p95 target is")
    out("stated for SQLite at 1M rows; it is marked in every column. 'app / SQL' compares the request's server")
    out("time with the bare SQL that returns the same page (same WHERE, ORDER BY, LIMIT, OFFSET).")
    if results and not args.no_plans:
        biggest = results[-1]
        out("")
        out(f"--- query plans and SQL per request at {human(biggest.rows)} rows ({backend.kind}) ---")
        for name, lines in biggest.plans.items():
            out(f"{name}:")
            for line in lines:
                out(f"    {line}")
        for smaller in results[:-1]:
            out("")
            out(f"--- plan summaries at {human(smaller.rows)} rows (plan nodes, outermost first) ---")
            for name, lines in smaller.plans.items():
                if name.startswith("plan:"):
                    out(f"{name[6:]}: {plan_summary(lines)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="comma-separated row counts (100000,300k,1M); default %(default)s")
    parser.add_argument("--skip-big", action="store_true", help="leave out sizes above 300,000 rows")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per API case (default 50)")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--naive-rows", type=int, default=NAIVE_ROWS,
                        help="rows for the naive ORM comparison (0 skips it); default %(default)s")
    parser.add_argument("--no-plans", action="store_true", help="do not print query plans")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway databases")
    parser.add_argument("--naive-orm-backfill", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.naive_orm_backfill:
        print(json.dumps(naive_orm_backfill(args.naive_orm_backfill)))
        return 0

    sizes = sorted(set(parse_sizes(args.sizes)))
    if args.skip_big:
        sizes = [s for s in sizes if s <= 300_000]
    if not sizes:
        parser.error("no sizes to run")
    server = os.environ.get("DATABASE_URL")
    backend = PostgresBackend(server, keep=args.keep) if server else SQLiteBackend(keep=args.keep)
    started = time.perf_counter()
    end = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    header = machine_lines(backend)
    header_load = load_average()
    for line in header:
        say(line)
    results: list[SizeResult] = []
    try:
        for rows in sizes:
            results.append(run_size(backend, rows, args, end, naive_from_here=(rows == args.naive_rows)))
        if args.naive_rows and args.naive_rows not in sizes:
            say(f"naive comparison on {human(args.naive_rows)} rows")
            generate(backend.create("naive_before"), args.naive_rows, seed=args.seed, schema="before", end=end, log=say)
            naive = run_naive(backend, "naive_before", engine_backfill_s=None)
            backend.drop("naive_before")
            results[0].figures.update({k: v for k, v in naive.items()})
            results[0].figures["naive_note"] = f"on {human(args.naive_rows)} rows"
    finally:
        backend.close()
    report(results, backend, header, args, started, header_load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
