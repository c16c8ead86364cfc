"""encrypt personal data: blind indexes, clear normalized columns dropped, PII access log

Sealing the existing clear values needs the keys, which migrations do not have:
`closedloop keys rotate` seals legacy clear values and fills the blind indexes.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("name", "phone", "email"):
        op.alter_column("customer_contacts", column, type_=sa.Text(), existing_nullable=True)
    op.add_column("customer_contacts", sa.Column("phone_bidx", sa.String(128), nullable=True))
    op.add_column("customer_contacts", sa.Column("email_bidx", sa.String(128), nullable=True))
    op.create_index(op.f("ix_customer_contacts_phone_bidx"), "customer_contacts", ["phone_bidx"])
    op.create_index(op.f("ix_customer_contacts_email_bidx"), "customer_contacts", ["email_bidx"])
    op.drop_index(op.f("ix_customer_contacts_phone_normalized"), "customer_contacts")
    op.drop_index(op.f("ix_customer_contacts_email_normalized"), "customer_contacts")
    op.drop_column("customer_contacts", "phone_normalized")
    op.drop_column("customer_contacts", "email_normalized")

    op.add_column("tickets", sa.Column("contact_phone_bidx", sa.String(128), nullable=True))
    op.add_column("tickets", sa.Column("contact_email_bidx", sa.String(128), nullable=True))
    op.create_index(op.f("ix_tickets_contact_phone_bidx"), "tickets", ["contact_phone_bidx"])
    op.create_index(op.f("ix_tickets_contact_email_bidx"), "tickets", ["contact_email_bidx"])

    op.create_table(
        "pii_access_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.BigInteger(), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_pii_access_log_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pii_access_log")),
    )
    op.create_index("ix_pii_access_log_resource", "pii_access_log", ["resource", "resource_id"])
    op.create_index("ix_pii_access_log_user_id_id", "pii_access_log", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_pii_access_log_user_id_id", "pii_access_log")
    op.drop_index("ix_pii_access_log_resource", "pii_access_log")
    op.drop_table("pii_access_log")
    op.drop_index(op.f("ix_tickets_contact_email_bidx"), "tickets")
    op.drop_index(op.f("ix_tickets_contact_phone_bidx"), "tickets")
    op.drop_column("tickets", "contact_email_bidx")
    op.drop_column("tickets", "contact_phone_bidx")
    # Sealed values stay sealed: the normalized columns come back empty.
    op.add_column("customer_contacts", sa.Column("email_normalized", sa.String(254), nullable=True))
    op.add_column("customer_contacts", sa.Column("phone_normalized", sa.String(20), nullable=True))
    op.create_index(
        op.f("ix_customer_contacts_email_normalized"), "customer_contacts", ["email_normalized"]
    )
    op.create_index(
        op.f("ix_customer_contacts_phone_normalized"), "customer_contacts", ["phone_normalized"]
    )
    op.drop_index(op.f("ix_customer_contacts_email_bidx"), "customer_contacts")
    op.drop_index(op.f("ix_customer_contacts_phone_bidx"), "customer_contacts")
    op.drop_column("customer_contacts", "email_bidx")
    op.drop_column("customer_contacts", "phone_bidx")
