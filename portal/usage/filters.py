"""Query parameters of usage-log listings, as pydantic models.

The same models validate requests (API, pages, exports) and generate the
OpenAPI parameter list, so the documentation cannot drift from the checks.
Empty values mean "no filter" so that a submitted HTML form with blank fields
works; errors name the parameter.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from portal.providers.categories import APIProvider, CATEGORY_VALUES
from portal.usage.validation import FieldError, InvalidInput, field_errors

DEFAULT_LIMIT = 50
DEFAULT_SORT = "-timestamp"
# Sort keys -> columns; "-key" is descending.
SORT_COLUMNS = {"timestamp": "timestamp", "cost": "cost_total", "tokens": "tokens_total", "response_time": "response_time"}
SORTS = tuple(f"{sign}{key}" for key in SORT_COLUMNS for sign in ("-", ""))
# Bounds keep numbers inside what the databases' integers hold (SQLite raises past 2**63).
MAX_INT32 = 2**31 - 1
MAX_OFFSET = 10**9
MAX_ROW_ID = 2**63 - 1
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,49}$"
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def iso_utc(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix."""
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_instant(raw: Any) -> dt.datetime:
    """An ISO 8601 date or date-time; no offset means UTC."""
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw).strip(ASCII_SPACE)
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"must be an ISO 8601 date or date-time, got {text[:40]!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError("is out of range") from None


ASCII_SPACE = " \t\n\r\f\v"
BLANK_PATTERN = r"^[ \t\n\r\f\v]*$"


def _blank_to_none(value: Any) -> Any:
    """A blank form field (ASCII white space only) means 'not given'; NUL never reaches the database."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        value = value.strip(ASCII_SPACE)
        return value or None
    return value


def lower(value: Any) -> Any:
    """Case-insensitive parameters: lower-case text, leave anything else alone."""
    return value.lower() if isinstance(value, str) else value


def _category(value: Any) -> Any:
    if value is None:
        return None
    member = APIProvider.coerce(value)
    if member is None:
        raise ValueError(f"must be one of: {', '.join(CATEGORY_VALUES)}")
    return member


def _instant(value: Any) -> Any:
    return None if value is None else parse_instant(value)


Blankable = BeforeValidator(_blank_to_none)
Instant = Annotated[dt.datetime | None, BeforeValidator(_instant), Blankable]


class LogFilters(BaseModel):
    """Which logs: the filters shared by the list, the export and the analytics."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider: Annotated[APIProvider | None, BeforeValidator(_category), Blankable] = Field(
        default=None, description="The logged category (any case), e.g. `video`.")
    actual_provider: Annotated[Annotated[str, Field(pattern=SLUG_PATTERN)] | None, BeforeValidator(lower), Blankable] = Field(
        default=None, description="Slug of the provider that actually served the call, e.g. `wavespeed`.")
    model: Annotated[Annotated[str, Field(max_length=200)] | None, Blankable] = Field(
        default=None, description="Exact model id.")
    status: Annotated[Literal["success", "failed"] | None, BeforeValidator(lower), Blankable] = Field(
        default=None, description="`success` = 2xx; `failed` = anything else, including no status.")
    start: Instant = Field(default=None, description="Inclusive lower bound, ISO 8601; no offset means UTC.")
    end: Instant = Field(default=None, description="Exclusive upper bound, ISO 8601; no offset means UTC.")
    billing_period: Annotated[Annotated[str, Field(pattern=PERIOD_PATTERN)] | None, Blankable] = Field(
        default=None, description="`YYYY-MM`.")

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        """A half-open range must not be empty."""
        start = info.data.get("start")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be later than start")
        return value

    def as_query_args(self) -> dict[str, str]:
        """The filters as URL query arguments (for links and pagination)."""
        args: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, APIProvider):
                value = value.value
            elif isinstance(value, dt.datetime):
                value = iso_utc(value)
            args[name] = str(value)
        return args

    def without(self, name: str) -> "LogFilters":
        """A copy with one filter removed."""
        return self.model_copy(update={name: None})

    def narrowed(self, **changes: Any) -> "LogFilters":
        """A copy with some filters set (for drill-down links)."""
        return self.model_copy(update=changes)


class Paging(BaseModel):
    """Which page: offset paging, or keyset paging with ``cursor``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: Annotated[Annotated[int, Field(ge=1, le=MAX_INT32)] | None, Blankable] = Field(
        default=None, description=f"Rows per page; default {DEFAULT_LIMIT}, capped by the server.")
    offset: Annotated[Annotated[int, Field(ge=0, le=MAX_OFFSET)] | None, Blankable] = Field(
        default=None, description="Rows to skip (prefer `cursor` for deep pages).")
    cursor: Annotated[Annotated[str, Field(max_length=200)] | None, Blankable] = Field(
        default=None, description="`next_cursor` from the previous page (keyset pagination, default sort only).")
    sort: Annotated[Literal[SORTS] | None, Blankable] = Field(  # type: ignore[valid-type]
        default=None, description="Order: `-timestamp` (default, newest first), `timestamp`, `-cost`, `cost`, "
                                  "`-tokens`, `tokens`, `-response_time`, `response_time`.")


class Subject(BaseModel):
    """Whose data: administrators may name another user."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user_id: Annotated[Annotated[int, Field(ge=1, le=MAX_INT32)] | None, Blankable] = Field(
        default=None, description="Administrators only: another user's id. Others may pass only their own.")


def single_values(args: Mapping[str, str], names) -> dict[str, str]:
    """The given parameters among ``names``; one named twice (``?model=a&model=b``) is ambiguous: a 400."""
    getlist = getattr(args, "getlist", None)
    repeated = [name for name in names if getlist is not None and len(getlist(name)) > 1]
    if repeated:
        raise InvalidInput([FieldError(name, "must be given at most once") for name in repeated])
    return {name: args.get(name) for name in names if name in args}


def _validate(model: type[BaseModel], args: Mapping[str, str]) -> BaseModel:
    """Validate query arguments against ``model``; errors name the parameter."""
    values = single_values(args, model.model_fields)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc)) from None


def parse_filters(args: Mapping[str, str]) -> LogFilters:
    """Validated filters, or InvalidInput naming every bad parameter."""
    return _validate(LogFilters, args)  # type: ignore[return-value]


def collect_filters(args: Mapping[str, str]) -> tuple[LogFilters, list[FieldError]]:
    """The valid filters, and the errors of the invalid ones (pages apply what they can)."""
    errors: list[FieldError] = []
    try:
        given = single_values(args, LogFilters.model_fields)
    except InvalidInput as exc:
        errors.extend(exc.errors)
        given = {name: args.get(name) for name in LogFilters.model_fields if name in args and name not in
                 {e.field for e in exc.errors}}
    while True:
        try:
            return LogFilters.model_validate(given), errors
        except ValidationError as exc:
            new = field_errors(exc)
            errors.extend(new)
            for error in new:
                given.pop(error.field, None)


@dataclass(frozen=True)
class PageRequest:
    """Validated paging and ordering."""

    limit: int
    offset: int
    cursor: str | None
    sort: str


def parse_paging(args: Mapping[str, str], max_limit: int) -> PageRequest:
    """Limit (default 50, capped at ``max_limit``), offset or cursor, and sort order."""
    paging: Paging = _validate(Paging, args)  # type: ignore[assignment]
    sort = paging.sort or DEFAULT_SORT
    if paging.cursor is not None:
        if paging.offset:
            raise InvalidInput([FieldError("offset", "cannot be combined with cursor")])
        if sort != DEFAULT_SORT:
            raise InvalidInput([FieldError("cursor", f"works only with the default sort ({DEFAULT_SORT}); use offset")])
        decode_cursor(paging.cursor)
    return PageRequest(min(paging.limit or DEFAULT_LIMIT, max_limit), paging.offset or 0, paging.cursor, sort)


def parse_subject(args: Mapping[str, str]) -> int | None:
    """The ``user_id`` an admin asked for, if any."""
    return _validate(Subject, args).user_id  # type: ignore[attr-defined]


def encode_cursor(timestamp: dt.datetime, row_id: int) -> str:
    """A cursor is the sort key of the last row seen: (timestamp, id), base64url-encoded."""
    raw = json.dumps([iso_utc(timestamp), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """Inverse of ``encode_cursor``; a tampered cursor is a 400 naming ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = json.loads(raw)
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not isinstance(stamp, str):
            raise ValueError("shape")
        if not 0 <= row_id <= MAX_ROW_ID:
            raise ValueError("range")
        return parse_instant(stamp), row_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput([FieldError("cursor", "is not a cursor this API issued; use next_cursor as returned")]) from None
