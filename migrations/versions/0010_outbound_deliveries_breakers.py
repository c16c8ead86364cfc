"""outbound deliveries: response status and latency, secret rotation, circuit breakers

Revision ID: 0010
Revises: 0009

Each outbox row keeps the last answer's HTTP status and latency (shown in the delivery
lists). A webhook keeps its previous signing secret until the rotation's overlap ends.
`delivery_breakers` counts consecutive failed deliveries per destination (a webhook or a
person's robot channel) and parks it after too many.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("response_status", sa.Integer()))
    op.add_column("notifications", sa.Column("latency_ms", sa.Integer()))
    op.create_index(
        "ix_notifications_recipient_id",
        "notifications",
        ["recipient", "id"],
        postgresql_where=sa.text("channel <> 'in_app'"),
    )
    op.add_column("webhook_subscriptions", sa.Column("previous_secret", sa.Text()))
    op.add_column(
        "webhook_subscriptions",
        sa.Column("previous_secret_until", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "delivery_breakers",
        sa.Column("destination", sa.String(length=64), primary_key=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("parked_at", sa.DateTime(timezone=True)),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )


def downgrade() -> None:
    op.drop_table("delivery_breakers")
    op.drop_column("webhook_subscriptions", "previous_secret_until")
    op.drop_column("webhook_subscriptions", "previous_secret")
    op.drop_index("ix_notifications_recipient_id", table_name="notifications")
    op.drop_column("notifications", "latency_ms")
    op.drop_column("notifications", "response_status")
