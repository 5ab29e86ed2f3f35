"""Add api_usage_logs.actual_provider_name and backfill it through the shared detector.

Safe to run on a database that already has the column, or that a killed run
left half-backfilled: the column and index are only added when missing, and
the attribution engine only touches rows whose value differs. The backfill
commits batch by batch (``autocommit_block``), detects once per distinct
(category, model, endpoint) and updates set-wise, so memory does not grow with
the table. It uses ``sa.table()`` via ``portal.usage.attribution``, never the
app's models.

Revision ID: 0002_add_actual_provider_name
Revises: 0001_initial_schema
Create Date: 2026-12-04
"""

import logging
import os

import sqlalchemy as sa
from alembic import op

from portal.usage.attribution import attribute_rows

revision = "0002_add_actual_provider_name"
down_revision = "0001_initial_schema"
branch_labels = None
depends_on = None

TABLE = "api_usage_logs"
COLUMN = "actual_provider_name"
INDEX = "ix_api_usage_logs_user_actual_ts"
log = logging.getLogger("portal.migrations")


def _detector():
    """The running app's detector (its configured catalogue), or the bundled one under plain Alembic."""
    try:
        from flask import current_app

        return current_app.extensions["portal.detector"]
    except (RuntimeError, KeyError, ImportError):
        from portal.providers import detector_for

        return detector_for(os.environ.get("PROVIDER_CATALOGUE") or None)


def _batch_size() -> int | None:
    """Rows per committed batch: ``BACKFILL_BATCH_SIZE`` from the app's config, else the engine's default."""
    try:
        from flask import current_app

        return current_app.config.get("BACKFILL_BATCH_SIZE")
    except (RuntimeError, ImportError):
        return None


def _columns(bind) -> set[str]:
    return {c["name"] for c in sa.inspect(bind).get_columns(TABLE)}


def _indexes(bind) -> set[str]:
    return {ix["name"] for ix in sa.inspect(bind).get_indexes(TABLE)}


def upgrade():
    """Add the column (if missing), backfill it in committed batches, then index it."""
    bind = op.get_bind()
    if COLUMN not in _columns(bind):
        with op.batch_alter_table(TABLE) as batch:
            batch.add_column(sa.Column(COLUMN, sa.String(50), nullable=True))

    def progress(p):
        log.info("backfill batch %d/%d: %d rows attributed so far", p.batch, p.batches, p.rows_changed)

    with op.get_context().autocommit_block():
        report = attribute_rows(bind, _detector().detect, batch_size=_batch_size(), progress=progress)
    log.info(
        "backfill done: %d rows, %d distinct (category, model, endpoint), %d detector calls, %d rows updated",
        report.rows, report.triples, report.detector_calls, report.rows_changed,
    )
    # Indexing after the backfill is cheaper than maintaining the index during it.
    if INDEX not in _indexes(bind):
        op.create_index(INDEX, TABLE, ["user_id", COLUMN, "timestamp"])


def downgrade():
    """Drop the index and the column (other data is untouched)."""
    bind = op.get_bind()
    if INDEX in _indexes(bind):
        op.drop_index(INDEX, table_name=TABLE)
    if COLUMN in _columns(bind):
        with op.batch_alter_table(TABLE) as batch:
            batch.drop_column(COLUMN)
