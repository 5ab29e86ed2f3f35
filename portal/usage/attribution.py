"""The attribution engine: (re)decide ``actual_provider_name`` for stored rows.

One engine, two callers: the migration that adds the column (backfill) and
``flask providers redetect``. It speaks SQLAlchemy Core over ``sa.table()``
column objects, never the ORM models, so an old migration keeps working when
the models change; and it imports no Flask.

How it stays cheap at millions of rows:
1. one ``GROUP BY`` scan finds every distinct (category, model, endpoint) and
   the value each currently has, with row counts;
2. the detector runs once per distinct triple, not per row;
3. a set-wise ``UPDATE ... FROM`` joins the mapping (a VALUES list on
   PostgreSQL, a keyed temporary table on SQLite) onto one id range at a
   time, touching only rows whose value differs. Each range is its
   own statement, so with an autocommit connection every batch is durable: a
   killed run loses at most the batch in flight, and a re-run skips what is done.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

usage_logs = sa.table(
    "api_usage_logs",
    sa.column("id", sa.BigInteger),
    sa.column("provider", sa.String),
    sa.column("model_used", sa.String),
    sa.column("endpoint", sa.String),
    sa.column("actual_provider_name", sa.String),
)

Triple = tuple[str, str, str]
DetectFn = Callable[[str | None, str | None, str | None], "str | None"]
ProgressFn = Callable[["BatchProgress"], None]

DEFAULT_BATCH_SIZE = 50_000
# Four bound parameters per mapping row; PostgreSQL allows 65,535 per statement.
MAPPING_CHUNK = 5_000


@dataclass(frozen=True)
class BatchProgress:
    """Reported after each id range is done."""

    batch: int
    batches: int
    rows_changed: int


@dataclass
class AttributionReport:
    """What an attribution run found and did."""

    rows: int = 0
    triples: int = 0
    detector_calls: int = 0
    # (old value, new value) -> rows, for rows whose value changes.
    transitions: Counter = field(default_factory=Counter)
    rows_to_change: int = 0
    rows_changed: int = 0
    batches: int = 0
    dry_run: bool = False


def _key(value: str | None) -> str:
    """NULL and '' carry the same (no) evidence; '' keeps the join hashable."""
    return value if value is not None else ""


def survey(conn: sa.Connection) -> list[tuple[Triple, str | None, int]]:
    """One scan: each distinct triple with its current value and row count."""
    model = sa.func.coalesce(usage_logs.c.model_used, "")
    endpoint = sa.func.coalesce(usage_logs.c.endpoint, "")
    query = sa.select(
        usage_logs.c.provider, model, endpoint, usage_logs.c.actual_provider_name, sa.func.count()
    ).group_by(usage_logs.c.provider, model, endpoint, usage_logs.c.actual_provider_name)
    return [((p, m, e), current, n) for p, m, e, current, n in conn.execute(query)]


def plan(survey_rows: list[tuple[Triple, str | None, int]], detect: DetectFn) -> tuple[dict[Triple, str | None], AttributionReport]:
    """Detect once per distinct triple and tally what would change."""
    report = AttributionReport()
    mapping: dict[Triple, str | None] = {}
    for triple, current, count in survey_rows:
        if triple not in mapping:
            provider, model, endpoint = triple
            mapping[triple] = detect(provider, model or None, endpoint or None)
            report.detector_calls += 1
        report.rows += count
        new = mapping[triple]
        if new != current:
            report.transitions[(current, new)] += count
            report.rows_to_change += count
    report.triples = len(mapping)
    return mapping, report


MAPPING_COLUMNS = ("m_provider", "m_model", "m_endpoint", "m_slug")


def _mapping_rows(mapping: dict[Triple, str | None]) -> list[tuple]:
    """The mapping as (provider, model, endpoint, slug) rows."""
    return [(p, m, e, slug) for (p, m, e), slug in mapping.items()]


def _values_sources(mapping: dict[Triple, str | None]) -> list:
    """The mapping as ``WITH m AS (VALUES ...)`` lists: PostgreSQL hash-joins each onto the id range.

    Chunked so that no statement carries more than ``4 * MAPPING_CHUNK`` bound parameters.
    """
    rows = _mapping_rows(mapping)
    return [
        sa.values(*(sa.column(name, sa.String) for name in MAPPING_COLUMNS), name="m")
        .data(rows[start:start + MAPPING_CHUNK])
        .cte("m")
        for start in range(0, len(rows), MAPPING_CHUNK)
    ]


def _temp_table_source(conn: sa.Connection, mapping: dict[Triple, str | None]) -> sa.Table:
    """The mapping as a temporary table keyed by the triple.

    SQLite would otherwise look rows up in a VALUES list by category alone and
    compare model and endpoint row by row (about 5x slower); with the key it
    walks the id range and probes the mapping's primary key.
    """
    table = sa.Table(
        "attribution_map", sa.MetaData(),
        sa.Column("m_provider", sa.String, primary_key=True),
        sa.Column("m_model", sa.String, primary_key=True),
        sa.Column("m_endpoint", sa.String, primary_key=True),
        sa.Column("m_slug", sa.String),
        prefixes=["TEMPORARY"],
    )
    table.drop(conn, checkfirst=True)
    table.create(conn)
    conn.execute(table.insert(), [dict(zip(MAPPING_COLUMNS, row)) for row in _mapping_rows(mapping)])
    return table


def _update_statement(m, low: int, high: int) -> sa.Update:
    """``UPDATE api_usage_logs SET ... FROM m WHERE ...`` for one id range; only rows whose value differs."""
    t = usage_logs
    return (
        sa.update(t)
        .values(actual_provider_name=m.c.m_slug)
        .where(
            t.c.id >= low,
            t.c.id < high,
            t.c.provider == m.c.m_provider,
            sa.func.coalesce(t.c.model_used, "") == m.c.m_model,
            sa.func.coalesce(t.c.endpoint, "") == m.c.m_endpoint,
            t.c.actual_provider_name.is_distinct_from(m.c.m_slug),
        )
    )


def attribute_rows(
    conn: sa.Connection,
    detect: DetectFn,
    *,
    batch_size: int | None = None,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
) -> AttributionReport:
    """Bring every row's ``actual_provider_name`` in line with ``detect``.

    ``conn`` should be in autocommit mode for per-batch durability (the
    migration uses ``autocommit_block()``; the CLI an AUTOCOMMIT connection).
    Idempotent: rows already right are not touched, so a re-run after an
    interruption only finishes the rest.
    """
    surveyed = survey(conn)
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    mapping, report = plan(surveyed, detect)
    report.dry_run = dry_run
    if dry_run or report.rows_to_change == 0:
        return report

    # Only the triples whose rows change need to be in the join.
    changing = {triple: mapping[triple] for triple, current, _ in surveyed if mapping[triple] != current}
    low, high = conn.execute(sa.select(sa.func.min(usage_logs.c.id), sa.func.max(usage_logs.c.id))).one()
    if low is None:
        return report
    ranges = [(start, min(start + batch_size, high + 1)) for start in range(low, high + 1, batch_size)]
    report.batches = len(ranges)
    sources = [_temp_table_source(conn, changing)] if conn.dialect.name == "sqlite" else _values_sources(changing)
    try:
        for number, (start, stop) in enumerate(ranges, start=1):
            for source in sources:
                report.rows_changed += conn.execute(_update_statement(source, start, stop)).rowcount
            if progress is not None:
                progress(BatchProgress(number, len(ranges), report.rows_changed))
    finally:
        if conn.dialect.name == "sqlite":
            sources[0].drop(conn, checkfirst=True)
    return report
