"""attachments, custom fields and durable customer import jobs

Revision ID: 0013
Revises: 0009

Attachments hold the metadata of sealed files (the bytes live in the configured storage);
customer import jobs keep the uploaded file's place, its sha256 and per-batch results, so a
resumed job never writes a batch twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("owner_type", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), sa.ForeignKey("tickets.id", ondelete="CASCADE")),
        sa.Column(
            "customer_id", sa.BigInteger(), sa.ForeignKey("customers.id", ondelete="CASCADE")
        ),
        sa.Column(
            "interaction_id",
            sa.BigInteger(),
            sa.ForeignKey("customer_interactions.id", ondelete="CASCADE"),
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False, unique=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.CheckConstraint(
            "(owner_type = 'ticket' AND ticket_id IS NOT NULL) OR "
            "(owner_type = 'customer' AND customer_id IS NOT NULL AND interaction_id IS NULL) OR "
            "(owner_type = 'interaction' AND interaction_id IS NOT NULL "
            "AND customer_id IS NOT NULL)",
            name="ck_attachments_owner",
        ),
    )
    op.create_index("ix_attachments_ticket_id", "attachments", ["ticket_id"])
    op.create_index("ix_attachments_customer_id", "attachments", ["customer_id"])
    op.create_index("ix_attachments_interaction_id", "attachments", ["interaction_id"])
    op.create_index(
        "uq_attachments_idempotency",
        "attachments",
        ["owner_type", "ticket_id", "customer_id", "interaction_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_table("attachments")
