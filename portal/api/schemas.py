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
    total_count: int = Field(description="Rows matching the filters; a lower bound when total_count_exact is false.")
    total_count_exact: bool = Field(description="False when counting stopped at the server's cap (API_COUNT_CAP).")
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


Rate = Annotated[str, Field(pattern=r"^\d+\.\d{6}$", description="A ratio 0..1 as a decimal string.")]


class TotalsOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calls: int
    tokens: int
    cost: Money
    failures: int
    error_rate: Rate | None


class RangeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: str
    label: str
    start: UtcTimestamp
    end: UtcTimestamp
    time_zone: str
    bucket: str


class PreviousRangeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: UtcTimestamp
    end: UtcTimestamp


class SummaryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: TotalsOut
    previous: TotalsOut
    previous_range: PreviousRangeOut


class ProviderCostOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_provider: str | None
    display_name: str
    calls: int
    tokens: int
    cost: Money
    failures: int
    share: Rate | None


class SeriesPointOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(description="Local date the day or week starts on.")
    total: Money
    costs: dict[str, Money]


PERCENTILE_NOTE = (
    "Seconds; nearest-rank percentile of response_time. Exact, except when the range holds whole UTC months "
    "and the rank falls in a latency bin fed by them: then the bin's middle, within 1% (within 0.5 ms below 1 ms)."
)


class PerformanceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_provider: str | None
    display_name: str
    calls: int
    successes: int
    success_rate: Rate | None
    p50_response_time: float | None = Field(description=PERCENTILE_NOTE)
    p95_response_time: float | None = Field(description=PERCENTILE_NOTE)
    retries: int


class WorkCostOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_provider: str | None
    display_name: str
    calls: int
    cost: Money
    cost_per_call: Money | None
    cost_per_1k_tokens: Money | None
    success_rate: Rate | None
    categories: list[str]


class ComparisonOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work: str
    label: str
    providers: list[WorkCostOut]


class RecommendationOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    text: str
    numbers: dict


class PlanCategoryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    calls: int
    limit: int | None
    percent: str | None


class PlanOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    billing_period: str
    categories: list[PlanCategoryOut]


class AnalyticsOut(BaseModel):
    """The dashboard's numbers."""

    model_config = ConfigDict(extra="forbid")

    range: RangeOut
    summary: SummaryOut
    providers: list[ProviderCostOut]
    providers_total: TotalsOut
    series: list[SeriesPointOut]
    performance: list[PerformanceOut]
    comparison: list[ComparisonOut]
    recommendations: list[RecommendationOut]
    plan: PlanOut
