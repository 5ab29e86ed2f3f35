"""Reading usage logs: one query for the API and the pages (filters come from ``filters``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import APIUsageLog
from portal.providers import Detector
from portal.usage.filters import DEFAULT_LIMIT, DEFAULT_SORT, SORT_COLUMNS, LogFilters, decode_cursor, encode_cursor, iso_utc


@dataclass(frozen=True)
class LogPage:
    """One page of logs plus what a client needs to page on."""

    rows: list[APIUsageLog]
    total_count: int
    limit: int
    offset: int
    has_more: bool
    keyset: bool = True  # cursors exist only for the default (newest-first) order
    total_exact: bool = True  # False: total_count is a lower bound (the count stopped at its cap)

    @property
    def next_cursor(self) -> str | None:
        """Opaque cursor for the page after this one (keyset pagination), if any."""
        if not self.has_more or not self.rows or not self.keyset:
            return None
        last = self.rows[-1]
        return encode_cursor(last.timestamp, last.id)


def failed_condition():
    """Anything but a 2xx status (including no status) is a failure."""
    status = APIUsageLog.status_code
    return sa.or_(status.is_(None), status < 200, status >= 300)


def filter_conditions(user_id: int, filters: LogFilters) -> list:
    """SQL conditions for one user's logs under ``filters``."""
    t = APIUsageLog
    conditions = [t.user_id == user_id]
    if filters.provider is not None:
        conditions.append(t.provider == filters.provider)
    if filters.actual_provider is not None:
        conditions.append(t.actual_provider_name == filters.actual_provider)
    if filters.model is not None:
        conditions.append(t.model_used == filters.model)
    if filters.status == "success":
        conditions.append(t.status_code.between(200, 299))
    elif filters.status == "failed":
        conditions.append(failed_condition())
    if filters.start is not None:
        conditions.append(t.timestamp >= filters.start)
    if filters.end is not None:
        conditions.append(t.timestamp < filters.end)
    if filters.billing_period is not None:
        conditions.append(t.billing_period == filters.billing_period)
    return conditions


def _order(sort: str) -> list:
    """ORDER BY for a sort key; ties are broken by id so paging is stable."""
    descending = sort.startswith("-")
    column = getattr(APIUsageLog, SORT_COLUMNS[sort.lstrip("-")])
    if sort.lstrip("-") == "response_time":
        # NULLs sort differently per database; put them last on both.
        column = sa.func.coalesce(column, -1.0 if descending else 1e18)
    direction = sa.desc if descending else sa.asc
    return [direction(column), direction(APIUsageLog.id)]


def older_than(timestamp, row_id: int):
    """Rows after (timestamp, id) in newest-first order: the keyset condition."""
    return sa.tuple_(APIUsageLog.timestamp, APIUsageLog.id) < sa.tuple_(timestamp, row_id)


def list_logs(
    user_id: int, filters: LogFilters, limit: int = DEFAULT_LIMIT, offset: int = 0, cursor: str | None = None,
    sort: str = DEFAULT_SORT, count_cap: int | None = None,
) -> LogPage:
    """One page of a user's logs (newest first unless ``sort`` says otherwise), with the total count.

    With ``cursor`` (keyset pagination, default sort only) the page starts
    after the row the cursor names, so a page deep in the list costs what the
    first page costs; OFFSET has to walk past every skipped row.
    """
    conditions = filter_conditions(user_id, filters)
    query = sa.select(APIUsageLog).where(*conditions)
    if cursor is not None:
        query = query.where(older_than(*decode_cursor(cursor)))
    # One extra row says whether there is a next page without counting.
    rows = list(db.session.scalars(query.order_by(*_order(sort)).limit(limit + 1).offset(offset)))
    has_more = len(rows) > limit
    total, exact = count_logs(conditions, count_cap)
    page = LogPage(rows[:limit], total, limit, offset, has_more, total_exact=exact)
    return page if sort == DEFAULT_SORT else replace(page, keyset=False)


def count_logs(conditions: list, cap: int | None) -> tuple[int, bool]:
    """How many rows match, counting at most ``cap`` (None = no cap); and whether that is exact.

    Counting a heavy user's 300,000 rows on every page view costs more than the
    page itself, so past the cap the answer is "at least cap".
    """
    if cap is None:
        return db.session.scalar(sa.select(sa.func.count()).select_from(APIUsageLog).where(*conditions)) or 0, True
    limited = sa.select(sa.literal(1)).select_from(APIUsageLog).where(*conditions).limit(cap + 1).subquery()
    n = db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    return (cap, False) if n > cap else (n, True)


def iter_logs(user_id: int, filters: LogFilters, chunk: int = 2000):
    """Every matching row, newest first, fetched in keyset chunks (memory stays flat for exports)."""
    conditions = filter_conditions(user_id, filters)
    cursor = None
    while True:
        query = sa.select(APIUsageLog).where(*conditions)
        if cursor is not None:
            query = query.where(older_than(*cursor))
        rows = list(db.session.scalars(query.order_by(*_order(DEFAULT_SORT)).limit(chunk)))
        if not rows:
            return
        yield from rows
        cursor = (rows[-1].timestamp, rows[-1].id)
        # Let the session forget the chunk: an export of millions must not pile up in memory.
        db.session.expunge_all()
        if len(rows) < chunk:
            return


def decimal_text(value: Decimal | None) -> str | None:
    """Exact decimal string for JSON (never a float), without exponent or trailing zeros."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def log_as_json(row: APIUsageLog, detector: Detector) -> dict[str, Any]:
    """Every stored field of a log, plus the display name to show for its provider."""
    return {
        "id": row.id,
        "user_id": row.user_id,
        "provider": row.provider.value,
        "actual_provider_name": row.actual_provider_name,
        "provider_display": detector.provider_display(row.actual_provider_name, row.provider),
        "endpoint": row.endpoint,
        "method": row.method,
        "model_used": row.model_used,
        "tokens_input": row.tokens_input,
        "tokens_output": row.tokens_output,
        "tokens_total": row.tokens_total,
        "cost_input": decimal_text(row.cost_input),
        "cost_output": decimal_text(row.cost_output),
        "cost_total": decimal_text(row.cost_total),
        "response_time": row.response_time,
        "status_code": row.status_code,
        "error_message": row.error_message,
        "retry_count": row.retry_count,
        "request_size": row.request_size,
        "response_size": row.response_size,
        "idempotency_key": row.idempotency_key,
        "timestamp": iso_utc(row.timestamp),
        "billing_period": row.billing_period,
        "created_at": iso_utc(row.created_at),
    }
