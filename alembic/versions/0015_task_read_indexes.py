"""Indexes for reads at a city's scale (bench/scale.py: 10 million tasks).

* ``ix_tasks_agency_id_started_at`` (agency, start) carrying status, mode and category: an agency's usage of a
  year (the roster, 第十二条) and the city's figures of the last 30 days (第三十条) are read from the index
  alone. It leads with ``agency_id``, so the single-column ``ix_tasks_agency_id`` goes: every query that used
  it can use this one, and each write to ``tasks`` keeps one index fewer.
* ``ix_tasks_pending_cosign`` (officer, created, id) over the records waiting for a co-signature only (第八条),
  carrying the commanding agency: an officer's queue, newest first, and each agency's backlog, read from an
  index as small as the backlog rather than from all of an officer's records.

On SQLite the partial index is made as well; the carried columns are PostgreSQL's (``INCLUDE``).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending_cosign'")


def upgrade() -> None:
    op.create_index("ix_tasks_agency_id_started_at", "tasks", ["agency_id", "started_at"],
                    postgresql_include=["status", "mode", "category"])
    op.create_index("ix_tasks_pending_cosign", "tasks", ["officer_id", "created_at", "id"],
                    postgresql_include=["command_agency_id"], postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_index("ix_tasks_agency_id", table_name="tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_agency_id", "tasks", ["agency_id"])
    op.drop_index("ix_tasks_pending_cosign", table_name="tasks")
    op.drop_index("ix_tasks_agency_id_started_at", table_name="tasks")
