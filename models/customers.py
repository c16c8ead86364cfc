"""Customers, their contacts and interactions, the daily code counter and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.customers import (
    Approval,
    CustomerSegment,
    CustomerStage,
    CustomerTier,
    CustomerType,
    InteractionKind,
)
from models.base import Base, created_at_column

__all__ = [
    "Approval",
    "Customer",
    "CustomerContact",
    "CustomerCounter",
    "CustomerEvent",
    "CustomerInteraction",
    "CustomerSegment",
    "CustomerStage",
    "CustomerTier",
    "CustomerType",
    "InteractionKind",
]


class Customer(Base):
    """A customer file (客户档案); scoped by owner and the owner's department at creation."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(8), default="b2b", server_default="b2b")
    industry: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(500))
    founded_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(64))
    requirement: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    tier: Mapped[str] = mapped_column(String(16), default="ordinary", server_default="ordinary")
    segment: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), default="lead", server_default="lead")
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    # Admin-defined fields (custom_field_definitions), validated on write; GIN-indexed.
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    birthday: Mapped[date | None] = mapped_column(Date)
    approval: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    approval_reason: Mapped[str | None] = mapped_column(Text)
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL")
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        Index("ix_customers_owner_id_id", "owner_id", "id"),
        Index("ix_customers_department_id_id", "department_id", "id"),
        Index("ix_customers_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_customers_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        # Company name + region is one of the two duplicate keys used by import.
        Index("ix_customers_name_region", text("lower(name)"), text("lower(region)")),
    )


class CustomerContact(Base):
    """A contact person; exactly one per customer may be primary."""

    __tablename__ = "customer_contacts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # name, phone and email hold sealed values (core.pii); search by the blind indexes.
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(Text)
    phone_bidx: Mapped[str | None] = mapped_column(String(128), index=True)
    email: Mapped[str | None] = mapped_column(Text)
    email_bidx: Mapped[str | None] = mapped_column(String(128), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (
        Index(
            "uq_customer_contacts_primary",
            "customer_id",
            unique=True,
            postgresql_where=text("is_primary"),
        ),
    )


class CustomerInteraction(Base):
    """One logged touch (电话 call, 拜访 visit, 邮件 email, 会议 meeting)."""

    __tablename__ = "customer_interactions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str] = mapped_column(Text)
    customer_feedback: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_follow_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)

    __table_args__ = (Index("ix_customer_interactions_customer_id_at", "customer_id", "at"),)


class CustomerCounter(Base):
    """Daily sequence behind CUSyyyymmddNNN codes."""

    __tablename__ = "customer_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CustomerEvent(Base):
    """Append-only audit of a customer: created, updated, approved, rejected, merged, …"""

    __tablename__ = "customer_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
