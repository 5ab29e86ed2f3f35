"""The one service that writes usage logs: validate, attribute, insert.

The API endpoint, ``flask usage import`` and Python callers all come through
``record_usage``, so every stored row carries ``actual_provider_name`` decided
by the same detector at write time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import APIUsageLog, User, utcnow
from portal.providers import Detector
from portal.usage.validation import FieldError, InvalidInput, UsageRecordIn, validate_record, validate_records


class NotAllowed(PermissionError):
    """The caller may not record usage on the named user's bill."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


def app_detector() -> Detector:
    """The detector for this app's configured catalogue (built once, at start-up)."""
    return current_app.extensions["portal.detector"]


def billing_period_of(timestamp: dt.datetime) -> str:
    """The "YYYY-MM" billing period of a UTC timestamp."""
    return timestamp.astimezone(dt.timezone.utc).strftime("%Y-%m")


def _row(record: UsageRecordIn, user_id: int, detector: Detector, now: dt.datetime) -> dict[str, Any]:
    """Column values for one validated record."""
    timestamp = record.timestamp or now
    return {
        "user_id": user_id,
        "provider": record.provider,
        "endpoint": record.endpoint,
        "method": record.method,
        "model_used": record.model_used,
        "actual_provider_name": detector.detect(record.provider, record.model_used, record.endpoint),
        "tokens_input": record.tokens_input,
        "tokens_output": record.tokens_output,
        "tokens_total": record.tokens_total,
        "cost_input": record.cost_input,
        "cost_output": record.cost_output,
        "cost_total": record.cost_total,
        "response_time": record.response_time,
        "status_code": record.status_code,
        "error_message": record.error_message,
        "retry_count": record.retry_count,
        "request_size": record.request_size,
        "response_size": record.response_size,
        "idempotency_key": record.idempotency_key,
        "timestamp": timestamp,
        "billing_period": billing_period_of(timestamp),
        "created_at": now,
    }


@dataclass
class Recorded(Sequence):
    """The stored rows, in input order, and how many of them are new.

    A record whose idempotency key its user already has is not stored again:
    the earlier row stands in for it (a retried request never double-bills).
    """

    rows: list[APIUsageLog]
    created: int

    def __getitem__(self, index):
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)


def record_usage(
    records: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    *,
    default_user_id: int | None = None,
    allowed_user_ids: frozenset[int] | None = None,
    commit: bool = True,
) -> Recorded:
    """Validate and store one record or a batch; all or nothing.

    ``default_user_id`` fills records that name no user; ``allowed_user_ids``
    (None = any) limits whose bill the caller may write to. Raises
    ``InvalidInput`` or ``NotAllowed`` without writing anything.
    """
    try:
        return _record(records, default_user_id, allowed_user_ids, commit)
    except IntegrityError:
        # A concurrent request stored the same idempotency key first: the
        # retry finds its row instead of inserting a duplicate.
        db.session.rollback()
        return _record(records, default_user_id, allowed_user_ids, commit)


def _record(records, default_user_id, allowed_user_ids, commit) -> Recorded:
    """``record_usage`` without the retry."""
    items = [records] if isinstance(records, Mapping) else list(records)
    single = isinstance(records, Mapping)
    # A single record's errors name the field alone; a batch's carry the index too.
    validated = [validate_record(records)] if single else validate_records(items)

    errors: list[FieldError] = []
    user_ids: list[int] = []
    for index, record in enumerate(validated):
        field = "user_id" if single else f"[{index}].user_id"
        user_id = record.user_id if record.user_id is not None else default_user_id
        if user_id is None:
            errors.append(FieldError(field, "is required"))
        user_ids.append(user_id)  # type: ignore[arg-type]
    if errors:
        raise InvalidInput(errors)

    denied = [
        FieldError("user_id" if single else f"[{i}].user_id", "you may only record usage for your own account")
        for i, uid in enumerate(user_ids)
        if allowed_user_ids is not None and uid not in allowed_user_ids
    ]
    if denied:
        raise NotAllowed(denied)

    wanted = set(user_ids)
    existing = set(db.session.scalars(sa.select(User.id).where(User.id.in_(wanted)))) if wanted else set()
    missing = [
        FieldError("user_id" if single else f"[{i}].user_id", f"no user with id {uid}")
        for i, uid in enumerate(user_ids)
        if uid not in existing
    ]
    if missing:
        raise InvalidInput(missing)

    existing = _existing_by_key(validated, user_ids, single)
    detector = app_detector()
    now = utcnow()
    rows: list[APIUsageLog] = []
    new_rows: list[APIUsageLog] = []
    for record, uid in zip(validated, user_ids):
        found = existing.get((uid, record.idempotency_key)) if record.idempotency_key else None
        if found is None:
            found = APIUsageLog(**_row(record, uid, detector, now))
            new_rows.append(found)
        rows.append(found)
    db.session.add_all(new_rows)
    if commit:
        try:
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return Recorded(rows, len(new_rows))


def _existing_by_key(validated: list[UsageRecordIn], user_ids: list[int], single: bool) -> dict:
    """Rows already stored under the batch's idempotency keys; a key used twice in one batch is an error."""
    seen: dict[tuple[int, str], int] = {}
    errors = []
    for index, (record, uid) in enumerate(zip(validated, user_ids)):
        if record.idempotency_key is None:
            continue
        key = (uid, record.idempotency_key)
        if key in seen:
            errors.append(FieldError(f"[{index}].idempotency_key", f"repeats the key of record [{seen[key]}]"))
        seen[key] = index
    if errors:
        raise InvalidInput(errors)
    if not seen:
        return {}
    keys = {key for _, key in seen}
    found = db.session.scalars(
        sa.select(APIUsageLog).where(APIUsageLog.user_id.in_(set(user_ids)), APIUsageLog.idempotency_key.in_(keys))
    )
    return {(row.user_id, row.idempotency_key): row for row in found}
