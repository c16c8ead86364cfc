"""sla policies, calendars, notification outbox

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Seeds are frozen here (not imported from domain/) so this revision never changes meaning.
STANDARD_BODY = {
    "targets": {
        "urgent": {"first_response": "PT2H", "resolution": "PT24H"},
        "normal": {"first_response": "PT4H", "resolution": "PT48H"},
        "low": {"first_response": "PT12H", "resolution": "PT72H"},
    },
    "warn_at": 0.8,
    "escalation": [
        {"when": "breach", "at": "breach", "notify": "department_manager", "channels": ["in_app"]},
        {"when": "breach", "at": "PT4H", "notify": "role:admin", "channels": ["in_app"]},
        {
            "when": "no_progress",
            "at": "PT48H",
            "priorities": ["urgent"],
            "notify": "department_manager",
            "channels": ["in_app"],
        },
    ],
    "tracking": {"urgent": "PT24H", "normal": "P3D", "low": "P7D"},
    "revisit": {"confirm_within": "P3D"},
}
WEEKDAY_HOURS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("working_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("holidays", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("extra_workdays", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_calendars_name")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_policies_name")),
    )
    op.create_table(
        "sla_policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name=op.f("fk_sla_policy_versions_calendar_id_calendars"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_sla_policy_versions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_policy_versions_policy_id_sla_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policy_versions")),
        sa.UniqueConstraint("policy_id", "version", name="uq_sla_policy_versions"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_notifications_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
    )
    op.create_index("ix_notifications_user_id_id", "notifications", ["user_id", "id"], unique=False)

    calendars = sa.table(
        "calendars",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("timezone", sa.String),
        sa.column("working_hours", postgresql.JSONB),
        sa.column("holidays", postgresql.JSONB),
        sa.column("extra_workdays", postgresql.JSONB),
    )
    op.bulk_insert(
        calendars,
        [
            {
                "id": 1,
                "name": "24x7",
                "timezone": "Asia/Shanghai",
                "working_hours": "24x7",
                "holidays": "none",
                "extra_workdays": [],
            },
            {
                "id": 2,
                "name": "CN business hours",
                "timezone": "Asia/Shanghai",
                "working_hours": WEEKDAY_HOURS,
                "holidays": "CN",
                "extra_workdays": [],
            },
        ],
    )
    policies = sa.table(
        "sla_policies",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("is_default", sa.Boolean),
        sa.column("scope", postgresql.JSONB),
        sa.column("current_version", sa.Integer),
    )
    op.bulk_insert(
        policies,
        [{"id": 1, "name": "Standard", "is_default": True, "scope": {}, "current_version": 1}],
    )
    versions = sa.table(
        "sla_policy_versions",
        sa.column("policy_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("calendar_id", sa.Integer),
        sa.column("body", postgresql.JSONB),
    )
    op.bulk_insert(
        versions, [{"policy_id": 1, "version": 1, "calendar_id": 1, "body": STANDARD_BODY}]
    )
    # Explicit ids above: move the sequences past them.
    op.execute("SELECT setval('calendars_id_seq', 2)")
    op.execute("SELECT setval('sla_policies_id_seq', 1)")


def downgrade() -> None:
    op.drop_index("ix_notifications_user_id_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("sla_policy_versions")
    op.drop_table("sla_policies")
    op.drop_table("calendars")
