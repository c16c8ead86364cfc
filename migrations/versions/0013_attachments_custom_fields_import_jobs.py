"""attachments, custom fields and durable customer import jobs

Revision ID: 0013
Revises: 0012

Attachments hold the metadata of sealed files (the bytes live in the configured storage);
customer import jobs keep the uploaded file's place, its sha256 and per-batch results, so a
resumed job never writes a batch twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0013"
down_revision = "0012"
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

    _import_jobs()
    _custom_fields()


def _custom_fields() -> None:
    op.create_table(
        "custom_field_definitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("label_zh", sa.String(100), nullable=False),
        sa.Column("label_en", sa.String(100), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("options", JSONB(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("categories", JSONB(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("entity", "key", name="uq_custom_field_definitions_key"),
    )
    for table in ("tickets", "customers"):
        op.add_column(
            table,
            sa.Column("custom_fields", JSONB(), server_default="{}", nullable=False),
        )
        op.create_index(
            f"ix_{table}_custom_fields",
            table,
            ["custom_fields"],
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        )


def _import_jobs() -> None:
    op.create_table(
        "customer_import_jobs",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False, unique=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "requested_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("department_id", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_customer_import_jobs_sha256", "customer_import_jobs", ["sha256"])
    op.create_table(
        "customer_import_batches",
        sa.Column(
            "job_id",
            sa.BigInteger(),
            sa.ForeignKey("customer_import_jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("batch_no", sa.Integer(), primary_key=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("errors", JSONB(), nullable=False),
        sa.Column("duplicates", JSONB(), nullable=False),
        sa.Column("pending_ids", ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    for table in ("tickets", "customers"):
        op.drop_index(f"ix_{table}_custom_fields", table_name=table)
        op.drop_column(table, "custom_fields")
    op.drop_table("custom_field_definitions")
    op.drop_table("customer_import_batches")
    op.drop_table("customer_import_jobs")
    op.drop_table("attachments")
