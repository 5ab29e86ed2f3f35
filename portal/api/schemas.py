"""Response shapes of the JSON API, as pydantic models (for the OpenAPI document).

Responses are built as plain dicts for speed; the tests validate real
responses against these models (``extra="forbid"``), so the document and the
output cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from portal.providers.categories import APIProvider

Money = Annotated[str, Field(pattern=r"^\d+(\.\d+)?$", description="Exact decimal in USD, as a string.")]
UtcTimestamp = Annotated[str, Field(description="ISO 8601 in UTC, `Z` suffix.", json_schema_extra={"format": "date-time"})]


class UsageLogOut(BaseModel):
    """One stored usage log."""

    model_config = ConfigDict(extra="forbid")

    id: int
    user_id: int
    provider: APIProvider = Field(description="The logged category.")
    actual_provider_name: str | None = Field(description="Slug of the provider that actually served the call.")
    provider_display: str = Field(description="Name to show: the actual provider's, else a fallback from the category.")
    endpoint: str | None
    method: str | None
    model_used: str | None
    tokens_input: int
    tokens_output: int
    tokens_total: int
    cost_input: Money
    cost_output: Money
    cost_total: Money
    response_time: float | None = Field(description="Seconds.")
    status_code: int | None
    error_message: str | None
    retry_count: int
    request_size: int | None
    response_size: int | None
    idempotency_key: str | None
    timestamp: UtcTimestamp
    billing_period: str
    created_at: UtcTimestamp


class UsageLogList(BaseModel):
    """A page of usage logs."""

    model_config = ConfigDict(extra="forbid")

    logs: list[UsageLogOut]
    total_count: int = Field(description="Rows matching the filters.")
    limit: int
    offset: int
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class UsageLogBatchOut(BaseModel):
    """Result of a batch ingestion."""

    model_config = ConfigDict(extra="forbid")

    logs: list[UsageLogOut]
    count: int
    created: int = Field(description="How many were new; the rest were retries of an idempotency key already stored.")


class ProblemFieldError(BaseModel):
    """One invalid input."""

    model_config = ConfigDict(extra="forbid")

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="forbid")

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None = None
    errors: list[ProblemFieldError] | None = None
