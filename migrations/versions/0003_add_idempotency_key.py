"""Add api_usage_logs.idempotency_key (unique per user) for safe ingestion retries.

Revision ID: 0003_add_idempotency_key
Revises: 0002_add_actual_provider_name
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_add_idempotency_key"
down_revision = "0002_add_actual_provider_name"
branch_labels = None
depends_on = None


def upgrade():
    """A nullable column (instant on both databases) and a unique index; NULLs never collide."""
    with op.batch_alter_table("api_usage_logs") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(100), nullable=True))
    op.create_index("uq_api_usage_logs_user_idempotency_key", "api_usage_logs", ["user_id", "idempotency_key"], unique=True)


def downgrade():
    """Drop the index and the column."""
    op.drop_index("uq_api_usage_logs_user_idempotency_key", table_name="api_usage_logs")
    with op.batch_alter_table("api_usage_logs") as batch:
        batch.drop_column("idempotency_key")
