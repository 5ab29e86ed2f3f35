"""CSV export of exactly the filtered rows, streamed (memory stays flat for any size)."""

from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from portal.models import APIUsageLog
from portal.providers import Detector
from portal.usage.filters import iso_utc
from portal.usage.queries import decimal_text

COLUMNS = (
    "id", "timestamp_utc", "billing_period", "provider", "actual_provider_name", "provider_display", "model_used",
    "endpoint", "method", "status_code", "tokens_input", "tokens_output", "tokens_total", "cost_input", "cost_output",
    "cost_total", "response_time_seconds", "retry_count", "error_message", "request_size", "response_size",
    "idempotency_key",
)
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(text: str | None) -> str:
    """Make a text cell inert in spreadsheets (OWASP: prefix a quote)."""
    if not text:
        return ""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _row(log: APIUsageLog, detector: Detector) -> list:
    """One CSV row: numbers as exact text, free text neutralised."""
    return [
        log.id, iso_utc(log.timestamp), log.billing_period, log.provider.value, neutralise(log.actual_provider_name),
        neutralise(detector.provider_display(log.actual_provider_name, log.provider)), neutralise(log.model_used),
        neutralise(log.endpoint), neutralise(log.method), "" if log.status_code is None else log.status_code,
        log.tokens_input, log.tokens_output, log.tokens_total, decimal_text(log.cost_input), decimal_text(log.cost_output),
        decimal_text(log.cost_total), "" if log.response_time is None else repr(log.response_time), log.retry_count,
        neutralise(log.error_message), "" if log.request_size is None else log.request_size,
        "" if log.response_size is None else log.response_size, neutralise(log.idempotency_key),
    ]


def csv_lines(rows: Iterable[APIUsageLog], detector: Detector) -> Iterator[str]:
    """The header, then one line per row, each yielded as soon as it is written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for log in rows:
        writer.writerow(_row(log, detector))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
