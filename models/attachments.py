"""Attachments: one sealed file on a ticket, a customer or an interaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Attachment(Base):
    """Metadata of a stored file; the bytes live in storage, sealed under `wrapped_key`."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # ticket | customer | interaction; customer_id is set for interactions too (scoping).
    owner_type: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_interactions.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16), default="staff")  # staff | public
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint(
            "(owner_type = 'ticket' AND ticket_id IS NOT NULL) OR "
            "(owner_type = 'customer' AND customer_id IS NOT NULL AND interaction_id IS NULL) OR "
            "(owner_type = 'interaction' AND interaction_id IS NOT NULL "
            "AND customer_id IS NOT NULL)",
            name="ck_attachments_owner",
        ),
        Index("ix_attachments_ticket_id", "ticket_id"),
        Index("ix_attachments_customer_id", "customer_id"),
        Index("ix_attachments_interaction_id", "interaction_id"),
        Index(
            "uq_attachments_idempotency",
            "owner_type",
            "ticket_id",
            "customer_id",
            "interaction_id",
            "idempotency_key",
            unique=True,
            postgresql_where="idempotency_key IS NOT NULL",
            postgresql_nulls_not_distinct=True,
        ),
    )
