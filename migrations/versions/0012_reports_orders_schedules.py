"""reports: customer orders, per-ticket report facts, keyword dictionary, scheduled reports

Revision ID: 0012
Revises: 0011

`ticket_report_facts` holds one narrow row per ticket (dimensions plus durations in business
and calendar seconds, SLA outcomes and keywords), written by the ticket activities in the
same transaction as the projection row; `services.reports.backfill` fills rows of tickets
that existed before this revision. Orders carry a `source` so accepted quotes can add them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_orders",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("order_no", sa.String(64), nullable=False, unique=True),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="CNY"),
        sa.Column("ordered_on", sa.Date(), nullable=False),
        # manual | import | quote: where the order came from; source_ref names the origin.
        sa.Column("source", sa.String(16), nullable=False, server_default="manual"),
        sa.Column("source_ref", sa.String(64), nullable=True),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("amount >= 0", name="ck_customer_orders_amount_nonnegative"),
    )
    op.create_index(
        "ix_customer_orders_customer_id_ordered_on",
        "customer_orders",
        ["customer_id", "ordered_on"],
    )
    op.create_index("ix_customer_orders_ordered_on", "customer_orders", ["ordered_on"])
    op.create_index(
        "uq_customer_orders_source_ref",
        "customer_orders",
        ["source", "source_ref"],
        unique=True,
        postgresql_where=sa.text("source_ref IS NOT NULL"),
    )

    op.create_table(
        "ticket_report_facts",
        sa.Column(
            "ticket_id",
            sa.BigInteger(),
            sa.ForeignKey("tickets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(24), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("reopened", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("satisfaction", sa.String(24), nullable=True),
        sa.Column("first_response_business_s", sa.Integer(), nullable=True),
        sa.Column("first_response_calendar_s", sa.Integer(), nullable=True),
        sa.Column("resolution_business_s", sa.Integer(), nullable=True),
        sa.Column("resolution_calendar_s", sa.Integer(), nullable=True),
        sa.Column("first_response_target_s", sa.Integer(), nullable=True),
        sa.Column("resolution_target_s", sa.Integer(), nullable=True),
        # NULL while undecided (open and not yet due), else whether the target was met.
        sa.Column("first_response_met", sa.Boolean(), nullable=True),
        sa.Column("resolution_met", sa.Boolean(), nullable=True),
        sa.Column("keywords", postgresql.ARRAY(sa.String(64)), nullable=False, server_default="{}"),
        sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_ticket_report_facts_created_at", "ticket_report_facts", ["created_at"])
    op.create_index(
        "ix_ticket_report_facts_department_id_created_at",
        "ticket_report_facts",
        ["department_id", "created_at"],
    )
    op.create_index(
        "ix_ticket_report_facts_open",
        "ticket_report_facts",
        ["status", "created_at"],
        postgresql_where=sa.text("NOT resolved"),
    )
    # Customer activity counts interactions by time across customers.
    op.create_index("ix_customer_interactions_at", "customer_interactions", ["at"])
    # Existing tickets get their dimensions now; last_seq 0 marks the durations as owed.
    op.execute(
        """
        INSERT INTO ticket_report_facts (ticket_id, created_at, department_id, category, channel,
            priority, status, assignee_id, customer_id, resolved, reopened, satisfaction,
            first_response_calendar_s, resolution_calendar_s, last_seq)
        SELECT id, created_at, department_id, category, channel, priority, status, assignee_id,
            customer_id, status IN ('resolved', 'closed'), reopen_count > 0, satisfaction,
            extract(epoch FROM first_response_at - created_at)::int,
            CASE WHEN status IN ('resolved', 'closed')
                THEN extract(epoch FROM coalesce(resolved_at, closed_at) - created_at)::int END,
            0
        FROM tickets
        """
    )

    op.create_table(
        "report_words",
        sa.Column("word", sa.String(64), primary_key=True),
        # user: a term jieba keeps whole; stop: a term never counted as a keyword.
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )

    op.create_table(
        "report_schedules",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("reports", postgresql.JSONB(), nullable=False),
        sa.Column("cadence", sa.String(8), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=True),
        sa.Column("recipients", postgresql.JSONB(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("idempotency_key", sa.String(255), nullable=True, unique=True),
    )
    op.create_table(
        "report_runs",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "schedule_id",
            sa.BigInteger(),
            sa.ForeignKey("report_schedules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("filename", sa.String(200), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("schedule_id", "period_start", name="uq_report_runs_schedule_period"),
    )


def downgrade() -> None:
    op.drop_index("ix_customer_interactions_at", table_name="customer_interactions")
    op.drop_table("report_runs")
    op.drop_table("report_schedules")
    op.drop_table("report_words")
    op.drop_table("ticket_report_facts")
    op.drop_table("customer_orders")
