"""The one validator for usage records: API, CLI import and ``record_usage`` share it.

Errors name the field (``cost_total``, or ``[3].cost_total`` inside a batch) and
say what is wrong in words a caller can act on. Unknown fields are rejected so a
misspelt field (``cost_totl``) is never silently dropped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Iterable, Mapping

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from portal.providers.categories import APIProvider, CATEGORY_VALUES

MAX_MODEL_LENGTH = 200
MAX_ENDPOINT_LENGTH = 500
MAX_ERROR_MESSAGE_LENGTH = 4000
MAX_IDEMPOTENCY_KEY_LENGTH = 100
MAX_INT32 = 2**31 - 1
# NUMERIC(18, 8): ten digits before the point, eight after.
MONEY_MAX = Decimal("9999999999.99999999")
MONEY_PLACES = 8
# Clocks drift; a day ahead is a bug in the caller, not skew.
FUTURE_TOLERANCE = dt.timedelta(days=1)
EARLIEST_TIMESTAMP = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


# Friendly words for regular expressions that users meet in error messages.
PATTERN_HINTS = {
    r"^\d{4}-(0[1-9]|1[0-2])$": "must be YYYY-MM, e.g. 2026-11",
    r"^[a-z0-9][a-z0-9_.-]{0,49}$": "must be a provider slug such as 'wavespeed'",
    r"^[A-Za-z]+$": "must be an HTTP method such as POST",
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of the input."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON form used by the API's error bodies."""
        return {"field": self.field, "message": self.message}


class InvalidInput(ValueError):
    """Input failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


def _plain_text(value: Any) -> Any:
    """Reject NUL (PostgreSQL cannot store it) and other control characters but tab and newlines."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if any(c < " " and c not in "\t\n\r" or c == "\x7f" for c in value):
            raise ValueError("must not contain control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON may escape a lone surrogate (\ud800); no database can store it.
            raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _one_line(value: Any) -> Any:
    """Identifiers (model ids, endpoints, keys) are one line: no tab or newline inside."""
    if isinstance(value, str) and any(c in value for c in "\t\n\r"):
        raise ValueError("must be a single line (no tabs or newlines)")
    return value


def _money(value: Any) -> Any:
    """Accept JSON numbers (parsed as Decimal) or numeric strings, never booleans or floats' noise."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float):
        # A float reaching here did not come through the Decimal-aware JSON parser;
        # its shortest repr is what the caller wrote.
        value = Decimal(repr(value))
    return value


def _check_money(value: Decimal) -> Decimal:
    """Money must be finite, non-negative and fit NUMERIC(18, 8) exactly."""
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value < 0:
        raise ValueError("must not be negative")
    if value > MONEY_MAX:
        raise ValueError(f"must be at most {MONEY_MAX}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_PLACES and value != value.quantize(Decimal(1).scaleb(-MONEY_PLACES)):
        raise ValueError(f"must have at most {MONEY_PLACES} decimal places")
    return value


# Text is stripped of surrounding (Unicode) white space, then kept as sent.
SafeText = Annotated[str, BeforeValidator(_plain_text)]
OneLine = Annotated[str, BeforeValidator(_plain_text), AfterValidator(_one_line)]
Money = Annotated[Decimal, BeforeValidator(_money)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_INT32)]


class UsageRecordIn(BaseModel):
    """One API call as reported by a calling product. Field names are the column names."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: StrictInt | None = Field(default=None, ge=1, le=MAX_INT32, description="Whose bill this call is on; defaults to the caller.")
    provider: APIProvider = Field(description="The coarse category the product logged, e.g. \"video\".")
    endpoint: OneLine | None = Field(default=None, max_length=MAX_ENDPOINT_LENGTH)
    method: OneLine | None = Field(default=None, max_length=10, pattern=r"^[A-Za-z]+$")
    model_used: OneLine | None = Field(default=None, max_length=MAX_MODEL_LENGTH)
    tokens_input: Count = 0
    tokens_output: Count = 0
    cost_input: Money = Decimal("0")
    cost_output: Money = Decimal("0")
    cost_total: Money | None = Field(default=None, description="Defaults to cost_input + cost_output.")
    response_time: float | None = Field(default=None, ge=0, le=86400, allow_inf_nan=False, description="Seconds.")
    status_code: StrictInt | None = Field(default=None, ge=100, le=599)
    timestamp: dt.datetime | None = Field(default=None, description="ISO 8601; without an offset it is taken as UTC. Defaults to now.")
    error_message: SafeText | None = Field(default=None, max_length=MAX_ERROR_MESSAGE_LENGTH)
    retry_count: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    request_size: Count | None = Field(default=None, description="Bytes.")
    response_size: Count | None = Field(default=None, description="Bytes.")
    idempotency_key: OneLine | None = Field(
        default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
        description="Optional, unique per user: a record re-sent with a key already stored is not stored "
        "again; the stored log is returned instead (safe retries).")

    @field_validator("provider", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        """Accept the category in any case; list the valid ones when it is unknown."""
        member = APIProvider.coerce(value)
        if member is None:
            raise ValueError(f"must be one of: {', '.join(CATEGORY_VALUES)}")
        return member

    @field_validator("cost_input", "cost_output", "cost_total")
    @classmethod
    def _money_range(cls, value: Decimal | None) -> Decimal | None:
        """Apply the money rules after parsing."""
        return None if value is None else _check_money(value)

    @field_validator("endpoint", "method", "model_used", "error_message")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        """An empty string carries no information; store NULL."""
        return value or None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        """Normalise to aware UTC and reject implausible times."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        try:
            value = value.astimezone(dt.timezone.utc)
        except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC equivalent
            raise ValueError("must not be before 2000-01-01") from None
        if value < EARLIEST_TIMESTAMP:
            raise ValueError("must not be before 2000-01-01")
        if value > dt.datetime.now(dt.timezone.utc) + FUTURE_TOLERANCE:
            raise ValueError("must not be more than a day in the future")
        return value

    @model_validator(mode="after")
    def _totals(self) -> "UsageRecordIn":
        """Fill the derived fields the same way for every caller."""
        if self.cost_total is None:
            self.cost_total = _check_money(self.cost_input + self.cost_output)
        if self.method:
            self.method = self.method.upper()
        if self.tokens_input + self.tokens_output > MAX_INT32:
            raise ValueError("tokens_input + tokens_output is too large")
        return self

    @property
    def tokens_total(self) -> int:
        """Total tokens, always derived, never trusted from the caller."""
        return self.tokens_input + self.tokens_output


def _location(loc: tuple[Any, ...], prefix: str) -> str:
    """Turn pydantic's error location into a field path such as ``[3].cost_total``."""
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return prefix + ".".join(parts) if parts else (prefix.rstrip(".") or "record")


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Translate a pydantic error into field errors with plain messages."""
    errors = []
    for err in exc.errors(include_url=False):
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if err["type"] == "extra_forbidden":
            message = "is not a known field"
        elif err["type"] == "string_pattern_mismatch":
            message = PATTERN_HINTS.get(err.get("ctx", {}).get("pattern", ""), "has the wrong format")
        errors.append(FieldError(_location(err["loc"], prefix), message))
    return errors


def validate_record(data: Any, *, index: int | None = None) -> UsageRecordIn:
    """Validate one record (a mapping). Raises InvalidInput naming each bad field."""
    prefix = "" if index is None else f"[{index}]."
    if not isinstance(data, Mapping):
        raise InvalidInput([FieldError(prefix.rstrip(".") or "body", "must be a JSON object")])
    try:
        return UsageRecordIn.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc, prefix)) from None


def validate_records(items: Iterable[Any]) -> list[UsageRecordIn]:
    """Validate a batch; collect every record's errors before raising."""
    records: list[UsageRecordIn] = []
    errors: list[FieldError] = []
    for index, item in enumerate(items):
        try:
            records.append(validate_record(item, index=index))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return records
