"""Database models (SQLAlchemy 2.0 typed mappings).

Timestamps are stored as naive UTC (``TIMESTAMP WITHOUT TIME ZONE`` on
PostgreSQL, text on SQLite, identical on both) and come back timezone-aware.
Money is ``ExactMoney``: NUMERIC(18, 8), exact on SQLite too, summed exactly by the database.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import ExactMoney, UTCDateTime
from portal.extensions import db
from portal.providers.categories import APIProvider

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


provider_category = sa.Enum(
    APIProvider,
    name="api_provider",
    native_enum=False,
    length=20,
    # Store the lowercase values ("video"), which is what callers send and log.
    values_callable=lambda enum: [member.value for member in enum],
    validate_strings=True,
)


class User(db.Model):
    """A person (or service account) whose API usage is billed."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters of the token, so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scopes: Mapped[str] = mapped_column(sa.String(100), default="read ingest")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def scope_set(self) -> frozenset[str]:
        """The token's scopes as a set."""
        return frozenset(self.scopes.split())


class APIUsageLog(db.Model):
    """One logged call to a paid API, with the provider that actually served it."""

    __tablename__ = "api_usage_logs"
    __table_args__ = (
        # Newest-first listing of one user's logs (the usage-logs page and API).
        sa.Index("ix_api_usage_logs_user_ts", "user_id", "timestamp", "id"),
        sa.Index("ix_api_usage_logs_user_provider_ts", "user_id", "provider", "timestamp"),
        sa.Index("ix_api_usage_logs_user_actual_ts", "user_id", "actual_provider_name", "timestamp"),
        sa.Index("ix_api_usage_logs_user_period", "user_id", "billing_period"),
        sa.Index("uq_api_usage_logs_user_idempotency_key", "user_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BIGINT_PK, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[APIProvider] = mapped_column(provider_category)
    endpoint: Mapped[str | None] = mapped_column(sa.String(500))
    method: Mapped[str | None] = mapped_column(sa.String(10))
    model_used: Mapped[str | None] = mapped_column(sa.String(200))
    actual_provider_name: Mapped[str | None] = mapped_column(sa.String(50))
    tokens_input: Mapped[int] = mapped_column(default=0)
    tokens_output: Mapped[int] = mapped_column(default=0)
    tokens_total: Mapped[int] = mapped_column(default=0)
    cost_input: Mapped[Decimal] = mapped_column(ExactMoney(), default=Decimal("0"))
    cost_output: Mapped[Decimal] = mapped_column(ExactMoney(), default=Decimal("0"))
    cost_total: Mapped[Decimal] = mapped_column(ExactMoney(), default=Decimal("0"))
    response_time: Mapped[float | None] = mapped_column(doc="Seconds")
    status_code: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    retry_count: Mapped[int] = mapped_column(default=0)
    request_size: Mapped[int | None] = mapped_column(doc="Bytes")
    response_size: Mapped[int | None] = mapped_column(doc="Bytes")
    # Client-chosen, unique per user: a retried POST finds its first row instead of double-billing.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    billing_period: Mapped[str] = mapped_column(sa.String(7))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def succeeded(self) -> bool:
        """True for a 2xx status; anything else, or no status at all, is a failure."""
        return self.status_code is not None and 200 <= self.status_code < 300


# Rollups: kept by database triggers (migration 0005), read by the analytics; never written by the app.
UNATTRIBUTED_KEY = ""  # how the rollups store "no actual provider" (key columns cannot be NULL)


class UsageDailyRollup(db.Model):
    """Sums of one user's logs for one UTC day, category and actual provider."""

    __tablename__ = "usage_daily_rollups"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True, doc="UTC calendar day")
    category: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    actual_provider_name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    calls: Mapped[int] = mapped_column(sa.BigInteger)
    tokens: Mapped[int] = mapped_column(sa.BigInteger)
    cost: Mapped[Decimal] = mapped_column(ExactMoney(precision=28))
    successes: Mapped[int] = mapped_column(sa.BigInteger)
    retries: Mapped[int] = mapped_column(sa.BigInteger)


class LatencyBin(db.Model):
    """One bin of response times: [lower_seconds, upper_seconds); geometric, 2% wide from 1 ms."""

    __tablename__ = "latency_bins"

    bin: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    lower_seconds: Mapped[float] = mapped_column(unique=True)
    upper_seconds: Mapped[float | None]


class LatencyMonthlyHistogram(db.Model):
    """How many of one user's calls to one actual provider in one UTC month fell in each latency bin."""

    __tablename__ = "latency_monthly_histogram"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(primary_key=True, doc="First day of the UTC month")
    actual_provider_name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    bin: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(sa.BigInteger)


class LoginThrottle(db.Model):
    """Failed sign-ins per e-mail or client address (see ``portal.auth.throttle``)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
