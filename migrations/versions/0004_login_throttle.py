"""Add login_throttle: failed sign-ins per e-mail and per client address.

Revision ID: 0004_login_throttle
Revises: 0003_add_idempotency_key
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_login_throttle"
down_revision = "0003_add_idempotency_key"
branch_labels = None
depends_on = None


def upgrade():
    """Create the table."""
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )


def downgrade():
    """Drop the table."""
    op.drop_table("login_throttle")
