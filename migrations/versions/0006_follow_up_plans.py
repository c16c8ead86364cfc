"""follow-up plans

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION reject_follow_up_event_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'follow_up_events is append-only';
END;
$$
"""


def _stamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "follow_up_plans",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(length=32), nullable=True),
        sa.Column("effective_cadence", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("channels", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grace_period", sa.String(length=32), nullable=False),
        sa.Column("birthday_lead_days", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_touch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workflow_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_follow_up_plans_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_follow_up_plans_owner_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_follow_up_plans_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_plans")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_follow_up_plans_workflow_id")),
    )
    op.create_index("ix_follow_up_plans_customer_id", "follow_up_plans", ["customer_id"])
    op.create_index("ix_follow_up_plans_owner_id_id", "follow_up_plans", ["owner_id", "id"])
    op.create_index(
        "ix_follow_up_plans_status_next_due_at", "follow_up_plans", ["status", "next_due_at"]
    )
    op.create_table(
        "follow_up_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["follow_up_plans.id"],
            name=op.f("fk_follow_up_events_plan_id_follow_up_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_events")),
        sa.UniqueConstraint("plan_id", "seq", name="uq_follow_up_events_plan_seq"),
    )
    # The timeline is append-only; rows leave only with their plan (cascade).
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER follow_up_events_append_only BEFORE UPDATE ON follow_up_events "
        "FOR EACH ROW EXECUTE FUNCTION reject_follow_up_event_update()"
    )
    op.create_table(
        "contact_pushes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_contact_pushes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["follow_up_plans.id"],
            name=op.f("fk_contact_pushes_plan_id_follow_up_plans"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_pushes")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_contact_pushes_idempotency_key")),
    )
    op.create_index("ix_contact_pushes_customer_id_at", "contact_pushes", ["customer_id", "at"])


def downgrade() -> None:
    op.drop_table("contact_pushes")
    op.execute("DROP TRIGGER IF EXISTS follow_up_events_append_only ON follow_up_events")
    op.execute("DROP FUNCTION IF EXISTS reject_follow_up_event_update()")
    op.drop_table("follow_up_events")
    op.drop_table("follow_up_plans")
