"""Bounded load test of the portal under gunicorn on 127.0.0.1 (issue 5).

    python -m bench.load                                   # fresh SQLite file in a temporary directory
    python -m bench.load --db "postgresql+psycopg://postgres@/postgres?host=/tmp/pg"
    python -m bench.load --seconds 20 --readers 8 --writers 2 --workers 3 --batch 20

What it does, in one run:

1. **A fresh database**: ``--db`` is a SQLite URL (the file must not exist yet;
   default: a file in a temporary directory) or a PostgreSQL *server* URL, on
   which a throwaway database ``load_<hex>`` is created (and dropped at the
   end unless ``--keep``). The schema is built by the real migrations
   (``flask --app wsgi db upgrade`` in a child process); one user, a ``read``
   token and one ``ingest`` token per writer are created with
   ``create_token``, and ``--seed`` rows (idempotency keys ``seed-N``) give
   the readers something to page through.
2. **gunicorn** (``sys.executable -m gunicorn wsgi:app``, sync workers,
   ``--workers N``) on a socket bound here to 127.0.0.1 on a free port and
   handed over as ``fd://`` (no port race), with ``DATABASE_URL`` and a fixed
   ``SECRET_KEY``; its access and error logs go to files.
3. **Load** for ``--seconds`` (or until ``--max-requests``): reader threads
   ``GET /api/subscription/usage-logs`` with a mix of first pages, filters
   (category, actual provider, model, status, date range, billing period),
   an offset page and keyset ``cursor`` chains (a chain must never repeat a
   row); writer threads ``POST`` batches of ``--batch`` records with unique
   idempotency keys and simulate client retries: some batches are abandoned
   (the connection is closed before the answer, like a client timeout) and
   sent again at once, so the two copies race in different workers; some
   acknowledged batches are sent again later (the answer must be ``200``,
   ``created: 0`` and the same ids). Only 127.0.0.1 is contacted; the
   standard library's ``http.client`` is the only HTTP client.
4. **Stop**: any batch still without an acknowledgement is re-sent (a few
   times at most), then gunicorn is terminated (SIGTERM, wait, SIGKILL if
   needed) before anything is verified, so no request can land afterwards.
5. **Verify in the database**: every acknowledged key is stored once, with
   the id it was acknowledged with and the values that were sent; no key is
   stored twice; nothing is stored that was never sent; the run's row count
   equals the number of distinct acknowledged keys.

It prints one table (requests, req/s, p50/p95/p99 latency per kind, non-2xx
by status, 5xx, lost, duplicated, ...) and exits 1 when anything failed: a 5xx,
an unexpected non-2xx, a dropped connection, a lost, duplicated or altered
record, a replay that stored again, or a cursor chain that repeated a row.
``run_load(url, ...)`` is the same run as a function (the tests call it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
API = "/api/subscription/usage-logs"
SECRET_KEY = "bench-load-fixed-secret-key-not-for-production"
USER_EMAIL = "load@example.com"
REQUEST_TIMEOUT = 60.0  # seconds per request; longer than SQLite's busy_timeout (30 s)
STARTUP_TIMEOUT = 60.0
RESOLVE_ATTEMPTS = 3

# (category, model, endpoint): what a product would log; the detector attributes them.
PROFILES = (
    ("video", "alibaba/wan-2.5/text-to-video", "https://api.wavespeed.ai/api/v3/alibaba/wan-2.5/text-to-video"),
    ("mistral", "mistralai/Mistral-7B-Instruct-v0.3", "https://router.huggingface.co/v1/chat/completions"),
    ("openai", "gpt-4o-mini", "https://api.openai.com/v1/chat/completions"),
    ("anthropic", "claude-3-5-sonnet-20241022", "https://api.anthropic.com/v1/messages"),
    ("stability", "stable-image-ultra", "https://api.stability.ai/v2beta/stable-image/generate/ultra"),
    ("audio", "tts-1-hd", "https://api.openai.com/v1/audio/speech"),
    ("gemini", "gemini-1.5-flash",
     "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent"),
)
HISTORY_DAYS = 90


# --- settings and results ----------------------------------------------------

@dataclass(frozen=True)
class LoadSettings:
    """How hard and how long to push."""

    seconds: float = 20.0
    readers: int = 8
    writers: int = 2
    workers: int = 3
    batch: int = 20
    seed_rows: int = 2000
    abandon_rate: float = 0.10  # batches whose first send is abandoned, then re-sent at once
    replay_rate: float = 0.10  # writes that re-send an already acknowledged batch
    max_requests: int = 200_000
    rng_seed: int = 5


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class KindStats:
    """One thread's (or the merged) figures for one kind of request."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    transport_errors: Counter = field(default_factory=Counter)

    def merge(self, other: "KindStats") -> None:
        self.latencies.extend(other.latencies)
        self.statuses.update(other.statuses)
        self.transport_errors.update(other.transport_errors)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def non_2xx(self) -> Counter:
        return Counter({s: n for s, n in self.statuses.items() if not 200 <= s < 300})

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)


@dataclass
class LoadResult:
    """Everything a run measured and verified."""

    backend: str
    settings: LoadSettings
    elapsed: float
    read: KindStats
    write: KindStats
    machine: str = ""
    cursor_pages: int = 0
    cursor_repeats: int = 0
    bad_bodies: list[str] = field(default_factory=list)
    abandoned: int = 0
    replays: int = 0
    replay_anomalies: list[str] = field(default_factory=list)
    batches_acked: int = 0
    keys_sent: int = 0
    keys_acked: int = 0
    keys_unacked: int = 0
    stored_rows: int = 0
    lost: int = 0
    duplicated: int = 0
    altered: int = 0
    phantom: int = 0
    ack_id_conflicts: int = 0
    seed_rows_stored: int = 0
    locked_errors: int = 0
    abandoned_stored_first: int = 0
    server_log_excerpt: str = ""
    log_dir: str = ""
    # For re-checking (tests): whose rows, which run, what was sent and acknowledged.
    url: str = field(default="", repr=False)
    user_id: int = 0
    ledger: "Ledger | None" = field(default=None, repr=False)

    @property
    def server_errors(self) -> int:
        return self.read.server_errors + self.write.server_errors

    @property
    def transport_errors(self) -> int:
        return sum(self.read.transport_errors.values()) + sum(self.write.transport_errors.values())

    def failures(self) -> list[str]:
        """Why this run failed; empty when it passed."""
        out = []
        if self.server_errors:
            out.append(f"{self.server_errors} responses with a 5xx status")
        unexpected = {s: n for s, n in (self.read.non_2xx + self.write.non_2xx).items() if s < 500}
        if unexpected:
            out.append(f"unexpected non-2xx answers to valid requests: {dict(sorted(unexpected.items()))}")
        if self.transport_errors:
            out.append(f"{self.transport_errors} requests without an HTTP answer: "
                       f"{dict(self.read.transport_errors + self.write.transport_errors)}")
        if self.lost:
            out.append(f"{self.lost} acknowledged records missing from the database")
        if self.duplicated:
            out.append(f"{self.duplicated} records stored more than once")
        if self.ack_id_conflicts:
            out.append(f"{self.ack_id_conflicts} keys acknowledged with two different ids")
        if self.altered:
            out.append(f"{self.altered} stored records differ from what was sent")
        if self.phantom:
            out.append(f"{self.phantom} stored records with a key that was never sent")
        if self.replay_anomalies:
            out.append(f"{len(self.replay_anomalies)} replays answered wrongly, e.g. {self.replay_anomalies[0]}")
        if self.cursor_repeats:
            out.append(f"{self.cursor_repeats} rows repeated within a cursor chain")
        if self.bad_bodies:
            out.append(f"{len(self.bad_bodies)} unreadable 2xx bodies, e.g. {self.bad_bodies[0]}")
        if self.keys_unacked and not self.server_errors and not self.transport_errors:
            out.append(f"{self.keys_unacked} sent keys never acknowledged")
        if self.stored_rows != self.keys_acked + self.seed_rows_stored and not self.keys_unacked:
            out.append(f"stored rows ({self.stored_rows}) != seed rows ({self.seed_rows_stored}) "
                       f"+ distinct acknowledged keys ({self.keys_acked})")
        if self.seed_rows_stored != self.settings.seed_rows:
            out.append(f"seed rows: {self.seed_rows_stored} stored of {self.settings.seed_rows}")
        return out

    @property
    def ok(self) -> bool:
        return not self.failures()

    def table(self) -> str:
        """The report, as printed."""
        s = self.settings
        lines = [
            f"Load test on {self.backend}: {self.elapsed:.1f} s, {s.readers} readers, {s.writers} writers "
            f"(batches of {s.batch}), gunicorn {s.workers} sync workers, 127.0.0.1",
            self.machine,
            "",
            "| kind  | requests |  req/s | p50 ms | p95 ms | p99 ms | non-2xx | 5xx |",
            "| ----- | -------: | -----: | -----: | -----: | -----: | ------: | --: |",
        ]
        both = KindStats()
        both.merge(self.read)
        both.merge(self.write)
        for name, stats in (("read", self.read), ("write", self.write), ("all", both)):
            lat = sorted(stats.latencies)
            lines.append(
                f"| {name:<5} | {stats.requests:>8} | {stats.requests / self.elapsed:>6.1f} "
                f"| {percentile(lat, 50) * 1000:>6.1f} | {percentile(lat, 95) * 1000:>6.1f} "
                f"| {percentile(lat, 99) * 1000:>6.1f} | {sum(stats.non_2xx.values()):>7} | {stats.server_errors:>3} |"
            )
        non_2xx = self.read.non_2xx + self.write.non_2xx
        by_status = ", ".join(f"{code}: {n}" for code, n in sorted(non_2xx.items())) or "none"
        lines += [
            "",
            f"non-2xx by status: {by_status}",
            f"5xx: {self.server_errors}    requests without an answer: {self.transport_errors}"
            f"    'database is locked' in the server log: {self.locked_errors}",
            f"reads: {self.cursor_pages} cursor follow-up pages, rows repeated within a chain: {self.cursor_repeats}",
            f"writes: {self.batches_acked} batches acknowledged, {self.abandoned} abandoned and re-sent at once, "
            f"{self.replays} acknowledged batches re-sent (wrong answers: {len(self.replay_anomalies)}); "
            f"abandoned copies that stored first: {self.abandoned_stored_first}",
            f"records: {self.keys_sent} keys sent, {self.keys_acked} acknowledged, {self.keys_unacked} never acknowledged; "
            f"{self.stored_rows - self.seed_rows_stored} stored by the run (+{self.seed_rows_stored} seed rows)",
            f"lost: {self.lost}    duplicated: {self.duplicated}    altered: {self.altered}    "
            f"phantom: {self.phantom}    ids conflicting between answers: {self.ack_id_conflicts}",
        ]
        failures = self.failures()
        lines.append("RESULT: " + ("PASS" if not failures else "FAIL"))
        lines += [f"  - {reason}" for reason in failures]
        if failures and self.server_log_excerpt:
            lines += ["", f"gunicorn logs: {self.log_dir}", self.server_log_excerpt]
        return "\n".join(lines)


# --- database ------------------------------------------------------------------

def normalise_url(url: str) -> str:
    """psycopg 3 for ``postgres://`` and ``postgresql://`` URLs, as the app does."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def backend_of(url: str) -> str:
    return sa.engine.make_url(url).get_backend_name()


def migrate(url: str) -> None:
    """The real migrations, as an operator runs them."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def record_for(rng: random.Random, key: str, now: dt.datetime) -> dict[str, Any]:
    """One realistic usage record (exact money as short JSON numbers)."""
    category, model, endpoint = rng.choice(PROFILES)
    tokens_in, tokens_out = rng.randint(0, 4000), rng.randint(0, 2000)
    cost_in, cost_out = round(rng.uniform(0, 0.5), 6), round(rng.uniform(0, 0.5), 6)
    when = now - dt.timedelta(seconds=rng.randint(0, HISTORY_DAYS * 86400))
    return {
        "provider": category,
        "model_used": model,
        "endpoint": endpoint,
        "method": "POST",
        "tokens_input": tokens_in,
        "tokens_output": tokens_out,
        "cost_input": cost_in,
        "cost_output": cost_out,
        "response_time": round(rng.uniform(0.05, 9.0), 3),
        "status_code": rng.choice((200, 200, 200, 200, 200, 200, 201, 429, 500)),
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "idempotency_key": key,
    }


def expected_cost(record: dict[str, Any]) -> Decimal:
    """The cost_total the server must store: input + output, read exactly from the JSON text."""
    return Decimal(json.dumps(record["cost_input"])) + Decimal(json.dumps(record["cost_output"]))


@dataclass
class Setup:
    user_id: int
    read_token: str
    ingest_tokens: list[str]


def prepare(url: str, settings: LoadSettings) -> Setup:
    """Migrate, then create the user, its tokens and the seed rows through the app's own code."""
    migrate(url)
    from portal import create_app
    from portal.auth.tokens import create_token
    from portal.extensions import db
    from portal.models import User
    from portal.usage.recording import record_usage

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
    try:
        with app.app_context():
            user = User(email=USER_EMAIL, password_hash=None, is_admin=False)
            db.session.add(user)
            db.session.commit()
            _, read_token = create_token(user, name="load readers", scopes=frozenset({"read"}))
            ingest = [create_token(user, name=f"load writer {n}", scopes=frozenset({"ingest"}))[1]
                      for n in range(settings.writers)]
            rng = random.Random(settings.rng_seed)
            now = dt.datetime.now(dt.timezone.utc)
            seed = [record_for(rng, f"seed-{n}", now) for n in range(settings.seed_rows)]
            for start in range(0, len(seed), 1000):
                record_usage(seed[start:start + 1000], default_user_id=user.id)
            setup = Setup(user.id, read_token, ingest)
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
    return setup


# --- gunicorn --------------------------------------------------------------------

class Server:
    """gunicorn serving ``wsgi:app`` on a socket bound here (127.0.0.1, free port)."""

    def __init__(self, url: str, workers: int, log_dir: Path):
        self.url = url
        self.workers = workers
        self.access_log = log_dir / "gunicorn-access.log"
        self.error_log = log_dir / "gunicorn-error.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, 0))
            listener.listen(2048)
            listener.set_inheritable(True)
            self.port = listener.getsockname()[1]
            env = {**os.environ, "DATABASE_URL": self.url, "SECRET_KEY": SECRET_KEY, "PYTHONUNBUFFERED": "1"}
            with open(self.error_log, "ab") as stderr:
                self.proc = subprocess.Popen(
                    [
                        sys.executable, "-m", "gunicorn",
                        "--bind", f"fd://{listener.fileno()}",
                        "--workers", str(self.workers),
                        "--worker-class", "sync",
                        "--graceful-timeout", "10",
                        # gunicorn 27 opens a control socket under ~/.gunicorn by default; not wanted here.
                        "--no-control-socket",
                        "--access-logfile", str(self.access_log),
                        "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}i)s',
                        "--error-logfile", "-",
                        "wsgi:app",
                    ],
                    cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                    pass_fds=(listener.fileno(),),
                )
        finally:
            listener.close()  # gunicorn holds its own copy
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _, _ = request(self.port, "GET", "/api/openapi.json", None, timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within {STARTUP_TIMEOUT:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (graceful: requests in progress finish), wait, SIGKILL if it hangs."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        else:
            proc.wait()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.error_log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


# --- HTTP --------------------------------------------------------------------------

def request(port: int, method: str, path: str, token: str | None, body: Any = None, *,
            request_id: str | None = None, timeout: float = REQUEST_TIMEOUT,
            abandon: bool = False) -> tuple[int, Any, float]:
    """One request on its own connection (sync workers close after each answer).

    Returns (status, parsed JSON or raw text, seconds). ``abandon`` sends the
    request and closes the connection without waiting: a client timing out.
    """
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if request_id:
        headers["X-Request-Id"] = request_id
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=data, headers=headers)
        if abandon:
            return 0, None, time.perf_counter() - started
        response = conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - started
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        return response.status, payload, elapsed
    finally:
        conn.close()


def query(params: dict[str, Any]) -> str:
    return API + ("?" + urlencode(params) if params else "")


# --- the load ------------------------------------------------------------------------

class Budget:
    """Deadline and total request count, shared by every thread."""

    def __init__(self, seconds: float, max_requests: int):
        self.deadline = time.monotonic() + seconds
        self.left = max_requests
        self.lock = threading.Lock()

    def take(self) -> bool:
        if time.monotonic() >= self.deadline:
            return False
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


@dataclass
class ReaderOutcome:
    stats: KindStats = field(default_factory=KindStats)
    cursor_pages: int = 0
    cursor_repeats: int = 0
    bad_bodies: list[str] = field(default_factory=list)


def read_filters(rng: random.Random, now: dt.datetime) -> dict[str, Any]:
    """One of the filters a widget or the page would use."""
    choice = rng.randrange(7)
    if choice == 0:
        return {"provider": rng.choice(PROFILES)[0]}
    if choice == 1:
        return {"actual_provider": rng.choice(("wavespeed", "openai", "huggingface", "anthropic", "stability"))}
    if choice == 2:
        return {"model": rng.choice(PROFILES)[1]}
    if choice == 3:
        return {"status": rng.choice(("success", "failed"))}
    if choice == 4:
        start = now - dt.timedelta(days=rng.randint(7, HISTORY_DAYS))
        return {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": (start + dt.timedelta(days=rng.randint(1, 30))).strftime("%Y-%m-%d")}
    if choice == 5:
        return {"billing_period": (now - dt.timedelta(days=rng.randint(0, HISTORY_DAYS))).strftime("%Y-%m")}
    return {"provider": "video", "status": "success", "limit": 20}


def reader(port: int, token: str, budget: Budget, rng: random.Random, name: str, out: ReaderOutcome) -> None:
    """First pages, filtered pages, an offset page, and cursor chains (which must not repeat rows)."""
    now = dt.datetime.now(dt.timezone.utc)
    chain: tuple[dict[str, Any], str, set, int] | None = None  # params, cursor, seen ids, pages left
    n = 0
    while budget.take():
        n += 1
        if chain is not None:
            params, cursor, seen, left = chain
            path = query({**params, "cursor": cursor})
            out.cursor_pages += 1
        else:
            roll = rng.random()
            if roll < 0.35:
                params = {}
            elif roll < 0.9:
                params = read_filters(rng, now)
            else:
                params = {"offset": rng.choice((50, 200, 1000))}
            seen, left = set(), rng.randint(1, 6)
            path = query(params)
        try:
            status, body, elapsed = request(port, "GET", path, token, request_id=f"load-{name}-{n}")
        except OSError as exc:
            out.stats.transport_errors[type(exc).__name__] += 1
            chain = None
            continue
        out.stats.latencies.append(elapsed)
        out.stats.statuses[status] += 1
        if status != 200:
            chain = None
            continue
        if not isinstance(body, dict) or not isinstance(body.get("logs"), list):
            out.bad_bodies.append(f"GET {path}: {str(body)[:200]}")
            chain = None
            continue
        ids = [log["id"] for log in body["logs"]]
        out.cursor_repeats += len(ids) - len(set(ids)) + len(seen.intersection(ids))
        seen.update(ids)
        nxt = body.get("next_cursor")
        if "offset" not in params and nxt and body.get("has_more") and left > 0 and rng.random() < 0.7:
            chain = ({k: v for k, v in params.items() if k != "cursor"}, nxt, seen, left - 1)
        else:
            chain = None


class Ledger:
    """What the writers sent and what the server acknowledged (shared, locked)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent: dict[str, dict[str, Any]] = {}  # key -> record
        self.acked: dict[str, int] = {}  # key -> id acknowledged
        self.acked_batches: list[list[dict[str, Any]]] = []
        self.unresolved: dict[str, list[dict[str, Any]]] = {}  # batch id -> records sent, no 2xx yet
        self.conflicts: list[str] = []
        self.replay_anomalies: list[str] = []
        self.abandoned = 0
        self.replays = 0
        self.batches_acked = 0

    def note_sent(self, batch_id: str, records: list[dict[str, Any]]) -> None:
        with self.lock:
            for record in records:
                self.sent[record["idempotency_key"]] = record
            self.unresolved[batch_id] = records

    def note_acked(self, batch_id: str | None, records: list[dict[str, Any]], logs: list[dict[str, Any]]) -> str | None:
        """Record an acknowledgement; returns a problem description when the answer is inconsistent."""
        if len(logs) != len(records):
            return f"{len(records)} records sent, {len(logs)} logs answered"
        problem = None
        with self.lock:
            for record, log in zip(records, logs):
                key = record["idempotency_key"]
                if log.get("idempotency_key") != key:
                    problem = f"answer for key {key} carries key {log.get('idempotency_key')!r}"
                    continue
                earlier = self.acked.setdefault(key, log["id"])
                if earlier != log["id"]:
                    self.conflicts.append(f"{key}: ids {earlier} and {log['id']}")
            if batch_id is not None and self.unresolved.pop(batch_id, None) is not None:
                self.acked_batches.append(records)
                self.batches_acked += 1
        return problem

    def pick_acked(self, rng: random.Random) -> list[dict[str, Any]] | None:
        with self.lock:
            return rng.choice(self.acked_batches) if self.acked_batches else None


def logs_of(body: Any, single: bool) -> list[dict[str, Any]]:
    if single:
        return [body] if isinstance(body, dict) and "id" in body else []
    return body.get("logs", []) if isinstance(body, dict) else []


def post_batch(port: int, token: str, ledger: Ledger, stats: KindStats, batch_id: str,
               records: list[dict[str, Any]], request_id: str, *, replay: bool = False) -> bool:
    """POST a batch (a single record as an object), check the answer, record the acknowledgement."""
    single = len(records) == 1
    try:
        status, body, elapsed = request(port, "POST", API, token, records[0] if single else records,
                                        request_id=request_id)
    except OSError as exc:
        stats.transport_errors[type(exc).__name__] += 1
        return False
    stats.latencies.append(elapsed)
    stats.statuses[status] += 1
    if status not in (200, 201):
        return False
    logs = logs_of(body, single)
    if single:
        created = 1 if status == 201 else 0  # a single record answers with the log alone
    else:
        created = body.get("created") if isinstance(body, dict) else None
    problem = None
    if replay and (status != 200 or created != 0):
        problem = f"replay {request_id}: status {status}, created {created} (expected 200, created 0)"
    elif status == 201 and created != len(records):
        problem = f"{request_id}: status 201 with created={created} for {len(records)} records"
    elif status == 200 and created != 0:
        problem = f"{request_id}: status 200 with created={created}"
    problem = ledger.note_acked(None if replay else batch_id, records, logs) or problem
    if problem:
        with ledger.lock:
            ledger.replay_anomalies.append(problem)
    return True


def writer(port: int, token: str, budget: Budget, rng: random.Random, name: str, run_id: str,
           settings: LoadSettings, ledger: Ledger, stats: KindStats) -> None:
    """New batches, some abandoned and re-sent at once, some acknowledged ones re-sent later."""
    seq = 0
    while budget.take():
        if rng.random() < settings.replay_rate:
            old = ledger.pick_acked(rng)
            if old is not None:
                with ledger.lock:
                    ledger.replays += 1
                post_batch(port, token, ledger, stats, "", old, f"load-{name}-replay-{seq}", replay=True)
                seq += 1
                continue
        seq += 1
        batch_id = f"{name}-{seq}"
        # Now and then a single record, sent as an object rather than an array.
        size = 1 if rng.random() < 0.05 else settings.batch
        now = dt.datetime.now(dt.timezone.utc)
        records = [record_for(rng, f"{run_id}-{batch_id}-{i}", now) for i in range(size)]
        ledger.note_sent(batch_id, records)
        if rng.random() < settings.abandon_rate:
            # The client times out before the answer; its retry races the first copy.
            try:
                request(port, "POST", API, token, records[0] if size == 1 else records,
                        request_id=f"load-{batch_id}-abandoned", abandon=True)
                with ledger.lock:
                    ledger.abandoned += 1
            except OSError as exc:
                stats.transport_errors[type(exc).__name__] += 1
            if not budget.take():
                break
        post_batch(port, token, ledger, stats, batch_id, records, f"load-{batch_id}")


def resolve(port: int, tokens: list[str], ledger: Ledger, stats: KindStats) -> None:
    """Re-send every batch still without an acknowledgement, a few times at most (a client's retries)."""
    for attempt in range(RESOLVE_ATTEMPTS):
        with ledger.lock:
            pending = list(ledger.unresolved.items())
        if not pending:
            return
        for batch_id, records in pending:
            post_batch(port, tokens[0], ledger, stats, batch_id, records, f"load-{batch_id}-resolve{attempt}")


def run_threads(targets: list[tuple[str, Callable[[], None]]], join_timeout: float) -> None:
    """Run the workers; an exception in one (a bug here, not in the app) is re-raised."""
    errors: list[BaseException] = []

    def guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                errors.append(exc)
        return run

    threads = [threading.Thread(target=guarded(fn), name=name, daemon=True) for name, fn in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + join_timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        raise RuntimeError(f"load threads did not finish: {alive}")
    if errors:
        raise errors[0]


# --- verification ----------------------------------------------------------------------

def verify(url: str, user_id: int, ledger: Ledger, result: LoadResult) -> None:
    """Compare the database with the ledger: lost, duplicated, altered, phantom rows."""
    from portal.models import APIUsageLog

    t = APIUsageLog.__table__
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.id, t.c.idempotency_key, t.c.cost_total, t.c.tokens_input, t.c.tokens_output,
                          t.c.provider, t.c.model_used).where(t.c.user_id == user_id)
            ).all()
            total = conn.scalar(sa.select(sa.func.count()).select_from(t))
    finally:
        engine.dispose()
    by_key: dict[str | None, list] = {}
    for row in rows:
        by_key.setdefault(row.idempotency_key, []).append(row)
    result.stored_rows = len(rows)
    result.seed_rows_stored = sum(len(v) for k, v in by_key.items() if k and k.startswith("seed-"))
    result.duplicated = sum(len(v) - 1 for k, v in by_key.items() if k is not None and len(v) > 1)
    result.ack_id_conflicts = len(ledger.conflicts)
    result.keys_sent = len(ledger.sent)
    result.keys_acked = len(ledger.acked)
    result.keys_unacked = len(set(ledger.sent) - set(ledger.acked))
    # Rows nobody sent: without a key, with an unknown key, or on another user's bill.
    result.phantom = sum(len(v) for k, v in by_key.items()
                         if k is None or (not k.startswith("seed-") and k not in ledger.sent)) + (total - len(rows))
    lost = altered = 0
    for key, acked_id in ledger.acked.items():
        stored = by_key.get(key)
        if not stored or acked_id not in {row.id for row in stored}:
            lost += 1
            continue
        record, row = ledger.sent[key], stored[0]
        if (row.cost_total != expected_cost(record) or row.tokens_input != record["tokens_input"]
                or row.tokens_output != record["tokens_output"] or row.model_used != record["model_used"]
                or str(getattr(row.provider, "value", row.provider)) != record["provider"]):
            altered += 1
    result.lost = lost
    result.altered = altered


def server_log_excerpt(server: Server) -> tuple[str, int, int]:
    """Tracebacks and 5xx lines from gunicorn's logs, how often 'database is locked' appears,
    and how many abandoned copies stored their batch (so that their retry answered 200)."""
    try:
        errors = server.error_log.read_text(errors="replace")
    except OSError:
        errors = ""
    try:
        access = server.access_log.read_text(errors="replace")
    except OSError:
        access = ""
    locked = errors.count("database is locked")
    stored_first = len(re.findall(r'" 201 .* rid=load-\S+-abandoned$', access, re.MULTILINE))
    five = [line for line in access.splitlines() if re.search(r'" 5\d\d ', line)]
    tracebacks = [block for block in re.split(r"\n(?=\[\d{4}-)", errors) if "Traceback" in block]
    parts = []
    if five:
        parts.append("5xx in the access log (first 10):\n" + "\n".join(five[:10]))
    if tracebacks:
        parts.append(f"{len(tracebacks)} tracebacks in the error log; the first:\n" + tracebacks[0][:4000])
    return "\n\n".join(parts), locked, stored_first


# --- the run ---------------------------------------------------------------------------

def describe_machine(url: str) -> str:
    """Date, CPUs, versions and the load average before the run (client and server share the CPUs)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                database = "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar()
            else:
                database = "PostgreSQL " + conn.exec_driver_sql("show server_version").scalar().split()[0]
    finally:
        engine.dispose()
    return (f"{dt.date.today().isoformat()}, {os.cpu_count()} CPUs shared by client and server, "
            f"Python {platform.python_version()}, {database}, {cpu_busy_before()}")


def cpu_busy_before(seconds: float = 1.0) -> str:
    """How busy the CPUs were just before the run (other work skews the figures); Linux only."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return "CPU use before the run unknown"
    busy = 100 * (1 - (idle1 - idle0) / max(1, total1 - total0))
    return f"CPUs {busy:.0f}% busy in the second before the run"


def run_load(url: str, settings: LoadSettings | None = None, *, log_dir: str | Path | None = None,
             progress: Callable[[str], None] = lambda _: None) -> LoadResult:
    """Load ``url`` (a new, empty database) through gunicorn and verify it; nothing is left running."""
    settings = settings or LoadSettings()
    if settings.writers < 1 or settings.readers < 1 or settings.batch < 1:
        raise ValueError("at least one reader, one writer and a batch of one")
    url = normalise_url(url)
    own_dir = log_dir is None
    logs = Path(tempfile.mkdtemp(prefix="bench-load-")) if own_dir else Path(log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    run_id = "run-" + uuid.uuid4().hex[:8]
    progress(f"migrating and seeding {settings.seed_rows} rows ...")
    setup = prepare(url, settings)
    ledger = Ledger()
    readers = [ReaderOutcome() for _ in range(settings.readers)]
    writer_stats = [KindStats() for _ in range(settings.writers)]
    resolve_stats = KindStats()
    machine = describe_machine(url)
    with Server(url, settings.workers, logs) as server:
        progress(f"gunicorn ({settings.workers} workers) on {HOST}:{server.port}; "
                 f"{settings.seconds:g} s of load ...")
        budget = Budget(settings.seconds, settings.max_requests)
        started = time.perf_counter()
        targets: list[tuple[str, Callable[[], None]]] = []
        for i, outcome in enumerate(readers):
            rng = random.Random(settings.rng_seed * 1000 + i)
            targets.append((f"r{i}", lambda rng=rng, i=i, o=outcome: reader(
                server.port, setup.read_token, budget, rng, f"r{i}", o)))
        for i, stats in enumerate(writer_stats):
            rng = random.Random(settings.rng_seed * 1000 + 500 + i)
            targets.append((f"w{i}", lambda rng=rng, i=i, s=stats: writer(
                server.port, setup.ingest_tokens[i], budget, rng, f"w{i}", run_id, settings, ledger, s)))
        run_threads(targets, settings.seconds + 3 * REQUEST_TIMEOUT)
        elapsed = time.perf_counter() - started
        resolve(server.port, setup.ingest_tokens, ledger, resolve_stats)
        server.stop()
        excerpt, locked, stored_first = server_log_excerpt(server)
    read = KindStats()
    for outcome in readers:
        read.merge(outcome.stats)
    write = KindStats()
    for stats in writer_stats + [resolve_stats]:
        write.merge(stats)
    result = LoadResult(
        backend=backend_of(url), settings=settings, elapsed=elapsed, read=read, write=write, machine=machine,
        cursor_pages=sum(o.cursor_pages for o in readers), cursor_repeats=sum(o.cursor_repeats for o in readers),
        bad_bodies=[b for o in readers for b in o.bad_bodies], abandoned=ledger.abandoned, replays=ledger.replays,
        replay_anomalies=list(ledger.replay_anomalies), batches_acked=ledger.batches_acked,
        locked_errors=locked, abandoned_stored_first=stored_first, server_log_excerpt=excerpt,
        log_dir=str(logs), url=url, user_id=setup.user_id, ledger=ledger,
    )
    progress("verifying the database ...")
    verify(url, setup.user_id, ledger, result)
    if own_dir and result.ok:
        shutil.rmtree(logs, ignore_errors=True)
        result.log_dir = ""
    return result


@contextlib.contextmanager
def fresh_database(db: str | None, keep: bool, progress: Callable[[str], None]) -> Iterator[str]:
    """A new, empty database: a SQLite file, or a throwaway database on a PostgreSQL server."""
    if db is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench-load-db-"))
        try:
            yield f"sqlite:///{tmp / 'load.sqlite3'}"
        finally:
            if keep:
                progress(f"kept {tmp / 'load.sqlite3'}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        return
    url = sa.engine.make_url(normalise_url(db))
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not url.database or url.database == ":memory:":
            raise SystemExit("--db: a SQLite URL must name a file (gunicorn workers are separate processes)")
        if path.exists() and path.stat().st_size > 0:
            raise SystemExit(f"--db: {path} exists; the load test needs a fresh database")
        yield url.render_as_string(hide_password=False)
        return
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"--db: SQLite or PostgreSQL, not {url.get_backend_name()}")
    name = f"load_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            if keep:
                progress(f"kept database {name}")
            else:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite URL of a new file, or a PostgreSQL server URL "
                                     "(a throwaway database is created on it); default: a temporary SQLite file")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--writers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--batch", type=int, default=20, help="records per POST")
    parser.add_argument("--seed", type=int, default=2000, help="rows stored before the load starts")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the database and the gunicorn logs")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 3600:
        parser.error("--seconds: between 0 and 3600")
    settings = LoadSettings(seconds=args.seconds, readers=args.readers, writers=args.writers,
                            workers=args.workers, batch=args.batch, seed_rows=args.seed,
                            max_requests=args.max_requests)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with fresh_database(args.db, args.keep, progress) as url:
        log_dir = Path(tempfile.mkdtemp(prefix="bench-load-logs-")) if args.keep else None
        result = run_load(url, settings, log_dir=log_dir, progress=progress)
        if log_dir is not None:
            progress(f"kept gunicorn logs in {log_dir}")
    print(result.table())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
