"""Initial schema: users, API tokens, usage logs (without actual_provider_name).

This is the schema existing deployments already have; the next revision adds
and backfills ``actual_provider_name``.

Revision ID: 0001_initial_schema
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from portal.dbtypes import ExactMoney

revision = "0001_initial_schema"
down_revision = None
branch_labels = None
depends_on = None

PROVIDER_VALUES = (
    "gemini", "openai", "anthropic", "mistral", "wavespeed", "tavily", "serper", "metaphor",
    "firecrawl", "stability", "exa", "video", "image_edit", "audio",
)
MONEY = ExactMoney()  # NUMERIC(18, 8); exact integer units on SQLite
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    """Create the tables and their indexes."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "api_usage_logs",
        sa.Column("id", BIGINT_PK, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.Enum(*PROVIDER_VALUES, name="api_provider", native_enum=False, length=20), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=True),
        sa.Column("method", sa.String(10), nullable=True),
        sa.Column("model_used", sa.String(200), nullable=True),
        sa.Column("tokens_input", sa.Integer(), nullable=False),
        sa.Column("tokens_output", sa.Integer(), nullable=False),
        sa.Column("tokens_total", sa.Integer(), nullable=False),
        sa.Column("cost_input", MONEY, nullable=False),
        sa.Column("cost_output", MONEY, nullable=False),
        sa.Column("cost_total", MONEY, nullable=False),
        sa.Column("response_time", sa.Float(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("request_size", sa.Integer(), nullable=True),
        sa.Column("response_size", sa.Integer(), nullable=True),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("billing_period", sa.String(7), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_usage_logs_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_api_usage_logs"),
    )
    op.create_index("ix_api_usage_logs_user_ts", "api_usage_logs", ["user_id", "timestamp", "id"])
    op.create_index("ix_api_usage_logs_user_provider_ts", "api_usage_logs", ["user_id", "provider", "timestamp"])
    op.create_index("ix_api_usage_logs_user_period", "api_usage_logs", ["user_id", "billing_period"])


def downgrade():
    """Drop everything this revision created."""
    op.drop_table("api_usage_logs")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
