"""sla policy administration: calendar versions, rollouts and their progress rows

Revision ID: 0011
Revises: 0010

Calendars get immutable versions (the `calendars` row stays the current one), tickets
record the calendar version they bound, and publishing a policy creates a rollout whose
per-ticket outcomes are keyed rows, so a resumed rollout never rebinds a ticket twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "calendars",
        sa.Column("current_version", sa.Integer(), server_default="1", nullable=False),
    )
    op.create_table(
        "calendar_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
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
            name=op.f("fk_calendar_versions_calendar_id_calendars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_calendar_versions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_versions")),
        sa.UniqueConstraint("calendar_id", "version", name="uq_calendar_versions"),
    )
    op.execute(
        "INSERT INTO calendar_versions (calendar_id, version, body, created_at) "
        "SELECT id, 1, jsonb_build_object('name', name, 'timezone', timezone, "
        "'working_hours', working_hours, 'holidays', holidays, "
        "'extra_workdays', extra_workdays), created_at FROM calendars"
    )
    op.add_column("tickets", sa.Column("calendar_version", sa.Integer(), nullable=True))
    # Calendars could not change before: every bound ticket holds its calendar's version 1.
    op.execute("UPDATE tickets SET calendar_version = 1 WHERE sla_binding IS NOT NULL")
    # The rollout's keyset: open tickets of one policy in id order.
    op.create_index(
        "ix_tickets_policy_open",
        "tickets",
        ["policy_id", "id"],
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "policy_rollouts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("calendar_version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rebound", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_policy_rollouts_policy_id_sla_policies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_policy_rollouts_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rollouts")),
    )
    # One running rollout per policy: a second publish meanwhile is refused (409).
    op.create_index(
        "uq_policy_rollouts_running",
        "policy_rollouts",
        ["policy_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "policy_rollout_items",
        sa.Column("rollout_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["rollout_id"],
            ["policy_rollouts.id"],
            name=op.f("fk_policy_rollout_items_rollout_id_policy_rollouts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rollout_id", "ticket_id", name=op.f("pk_policy_rollout_items")),
    )


def downgrade() -> None:
    op.drop_table("policy_rollout_items")
    op.drop_index("uq_policy_rollouts_running", table_name="policy_rollouts")
    op.drop_table("policy_rollouts")
    op.drop_index("ix_tickets_policy_open", table_name="tickets")
    op.drop_column("tickets", "calendar_version")
    op.drop_table("calendar_versions")
    op.drop_column("calendars", "current_version")
