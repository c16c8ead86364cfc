"""customers, contacts, interactions

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION reject_customer_event_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'customer_events is append-only';
END;
$$
"""


def _created_at(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    # A customer's ticket list and merges look tickets up by customer.
    op.create_index("ix_tickets_customer_id", "tickets", ["customer_id"])
    # Trigram index on customers.name serves partial and Chinese name search.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "customer_counters",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_customer_counters")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=8), server_default="b2b", nullable=False),
        sa.Column("industry", sa.String(length=120), nullable=True),
        sa.Column("region", sa.String(length=120), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("requirement", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("tier", sa.String(length=16), server_default="ordinary", nullable=False),
        sa.Column("segment", sa.String(length=16), nullable=True),
        sa.Column("stage", sa.String(length=16), server_default="lead", nullable=False),
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False
        ),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("approval", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("approval_reason", sa.Text(), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _created_at(),
        _created_at("updated_at"),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_customers_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_customers_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["customers.id"],
            name=op.f("fk_customers_merged_into_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_customers_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("code", name=op.f("uq_customers_code")),
    )
    op.create_index("ix_customers_department_id_id", "customers", ["department_id", "id"])
    op.create_index(
        "ix_customers_name_region",
        "customers",
        [sa.literal_column("lower(name)"), sa.literal_column("lower(region)")],
    )
    op.create_index(
        "ix_customers_name_trgm",
        "customers",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index("ix_customers_owner_id_id", "customers", ["owner_id", "id"])
    op.create_index("ix_customers_tags", "customers", ["tags"], postgresql_using="gin")
    op.create_table(
        "customer_contacts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("phone_normalized", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_normalized", sa.String(length=254), nullable=True),
        sa.Column("is_primary", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_contacts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contacts")),
    )
    op.create_index(op.f("ix_customer_contacts_customer_id"), "customer_contacts", ["customer_id"])
    op.create_index(
        op.f("ix_customer_contacts_email_normalized"), "customer_contacts", ["email_normalized"]
    )
    op.create_index(
        op.f("ix_customer_contacts_phone_normalized"), "customer_contacts", ["phone_normalized"]
    )
    op.create_index(
        "uq_customer_contacts_primary",
        "customer_contacts",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text("is_primary"),
    )
    op.create_table(
        "customer_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_events_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_events")),
    )
    op.create_index(op.f("ix_customer_events_customer_id"), "customer_events", ["customer_id"])
    op.create_table(
        "customer_interactions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("customer_feedback", sa.Text(), nullable=True),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("next_follow_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _created_at(),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_customer_interactions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_interactions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_interactions")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_customer_interactions_idempotency_key")
        ),
    )
    op.create_index(
        "ix_customer_interactions_customer_id_at", "customer_interactions", ["customer_id", "at"]
    )
    # The audit log is append-only; deletes stay possible only through the customer cascade.
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER customer_events_append_only BEFORE UPDATE ON customer_events "
        "FOR EACH ROW EXECUTE FUNCTION reject_customer_event_update()"
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_customer_id", table_name="tickets")
    op.execute("DROP TRIGGER IF EXISTS customer_events_append_only ON customer_events")
    op.execute("DROP FUNCTION IF EXISTS reject_customer_event_update()")
    op.drop_table("customer_interactions")
    op.drop_table("customer_events")
    op.drop_table("customer_contacts")
    op.drop_table("customers")
    op.drop_table("customer_counters")
