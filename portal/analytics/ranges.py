"""Date ranges for the dashboard: presets and custom, in a labelled time zone.

A range is half-open ``[start, end)`` in UTC, computed from local dates in the
chosen IANA zone (UTC by default), and always has a previous range of equal
length to compare against. Billing periods are UTC calendar months (they are
what invoices and plan limits count), whatever zone the page is shown in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from portal.usage.filters import Blankable, lower, single_values
from portal.usage.validation import FieldError, InvalidInput, field_errors

UTC = dt.timezone.utc
PRESETS = {
    "this_period": "This billing period",
    "last_period": "Last billing period",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "12m": "Last 12 months",
    "custom": "Custom",
}
DEFAULT_PRESET = "30d"
MAX_CUSTOM_DAYS = 732
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago",
                "America/Los_Angeles", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney")


@dataclass(frozen=True)
class DateRange:
    """A resolved range: UTC bounds, the zone it was chosen in, and how to label it."""

    preset: str
    start: dt.datetime
    end: dt.datetime
    zone: str
    label: str

    @property
    def tz(self) -> ZoneInfo:
        """The zone object."""
        return ZoneInfo(self.zone)

    @property
    def previous(self) -> "DateRange":
        """The equal-length range just before this one."""
        length = self.end - self.start
        return DateRange("previous", self.start - length, self.start, self.zone, "previous period")

    @property
    def days(self) -> float:
        """Length in days."""
        return (self.end - self.start).total_seconds() / 86400

    @property
    def bucket(self) -> str:
        """Chart bucket: days for short ranges, ISO weeks for long ones."""
        return "week" if self.days > 100 else "day"

    def query_args(self) -> dict[str, str]:
        """The arguments that recreate this range in a link."""
        args = {"range": self.preset, "tz": self.zone}
        if self.preset == "custom":
            args["start"] = self.local_start.date().isoformat()
            args["end"] = self.last_day.isoformat()
        return args

    def bucket_bounds(self, local_day: dt.date) -> dict[str, dt.datetime]:
        """UTC start and end of the day or week starting on ``local_day``, clipped to the range."""
        length = dt.timedelta(days=7 if self.bucket == "week" else 1)
        start = local_midnight(local_day, self.tz)
        end = local_midnight(local_day + length, self.tz)
        return {"start": max(start, self.start), "end": min(end, self.end)}

    @property
    def last_day(self) -> dt.date:
        """The last local date inside the range (its end is exclusive)."""
        return (self.local_end - dt.timedelta(microseconds=1)).date()

    @property
    def local_start(self) -> dt.datetime:
        return self.start.astimezone(self.tz)

    @property
    def local_end(self) -> dt.datetime:
        return self.end.astimezone(self.tz)


def local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """Local midnight of ``day`` in ``tz``, as UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(UTC)


def _month_start(year: int, month: int) -> dt.datetime:
    return dt.datetime(year, month, 1, tzinfo=UTC)


class RangeQuery(BaseModel):
    """Query parameters that choose a dashboard range (they also document the API)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    range: Annotated[Literal[tuple(PRESETS)] | None, BeforeValidator(lower), Blankable] = Field(  # type: ignore[valid-type]
        default=None, description=f"Preset: {', '.join(PRESETS)}. Default {DEFAULT_PRESET}.")
    start: Annotated[dt.date | None, BeforeValidator(_date_part), Blankable] = Field(
        default=None, description="First local date of a custom range (YYYY-MM-DD).")
    end: Annotated[dt.date | None, BeforeValidator(_date_part), Blankable] = Field(
        default=None, description="Last local date of a custom range, inclusive (YYYY-MM-DD).")
    tz: Annotated[Annotated[str, Field(max_length=64)] | None, Blankable] = Field(
        default=None, description="IANA time zone for days and labels, e.g. Europe/Berlin. Default UTC.")

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else parse_zone(value)


def parse_zone(raw: str | None) -> str:
    """An IANA zone name, validated; UTC when absent."""
    if raw is None or raw.strip() == "":
        return "UTC"
    name = raw.strip()
    try:
        if len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"must be an IANA time zone such as Europe/Berlin, got {name[:40]!r}") from None
    return name


def _date_part(value):
    """An ISO date (or the date part of an ISO date-time); nothing looser, not even a timestamp."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"must be a date (YYYY-MM-DD), got {text[:40]!r}") from None


def resolve_range(args: Mapping[str, str], now: dt.datetime | None = None) -> DateRange:
    """Turn ``range``/``start``/``end``/``tz`` query arguments into a DateRange."""
    now = (now or dt.datetime.now(UTC)).astimezone(UTC)
    try:
        query = RangeQuery.model_validate(single_values(args, RangeQuery.model_fields))
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc)) from None
    zone = query.tz or "UTC"
    tz = ZoneInfo(zone)
    preset = query.range or DEFAULT_PRESET
    today = now.astimezone(tz).date()
    tomorrow = local_midnight(today + dt.timedelta(days=1), tz)
    if preset == "this_period":
        start = _month_start(now.year, now.month)
        end = _month_start(now.year + (now.month == 12), now.month % 12 + 1)
        label = f"Billing period {start:%Y-%m} (UTC)"
    elif preset == "last_period":
        end = _month_start(now.year, now.month)
        prev = end - dt.timedelta(days=1)
        start = _month_start(prev.year, prev.month)
        label = f"Billing period {start:%Y-%m} (UTC)"
    elif preset == "custom":
        start_day, end_day = _custom_days(query)
        start, end = local_midnight(start_day, tz), local_midnight(end_day + dt.timedelta(days=1), tz)
        label = f"{start_day.isoformat()} – {end_day.isoformat()}"
    else:
        days = {"7d": 7, "30d": 30, "90d": 90, "12m": 365}[preset]
        start, end = local_midnight(today - dt.timedelta(days=days - 1), tz), tomorrow
        label = PRESETS[preset]
    return DateRange(preset, start, end, zone, label)


def _custom_days(query: "RangeQuery") -> tuple[dt.date, dt.date]:
    """Inclusive local start and end dates of a custom range."""
    errors, days = [], {"start": query.start, "end": query.end}
    for name, value in days.items():
        if value is None:
            errors.append(FieldError(name, "is required for a custom range (YYYY-MM-DD)"))
    if not errors:
        if days["end"] < days["start"]:
            errors.append(FieldError("end", "must not be before start"))
        elif (days["end"] - days["start"]).days > MAX_CUSTOM_DAYS:
            errors.append(FieldError("end", f"a custom range spans at most {MAX_CUSTOM_DAYS} days"))
    if errors:
        raise InvalidInput(errors)
    return days["start"], days["end"]
