"""Web Push subscriptions: where the browsers of users (an officer's phone, first of all) want to be told that
a record waits for them. Not a record of work: not logged, not append-only; the service role may delete rows
(``api.migrations.DELETABLE``), as a browser lets go of a subscription or its push service forgets it.

The VAPID key that signs the pushes lives in ``signing_keys`` (purpose ``vapid``), beside the badge and
checkpoint keys: nothing to add there.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("p256dh", sa.String(length=100), nullable=False),
        sa.Column("auth", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_push_subscriptions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index("ix_push_subscriptions_user_id_updated_at", "push_subscriptions", ["user_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_push_subscriptions_user_id_updated_at", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
