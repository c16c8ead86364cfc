"""Ticket projection rows, their append-only timeline, and the daily number counter."""

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
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Ticket(Base):
    """Read model of a ticket; written only by the ticket workflow's activities."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), index=True)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(24))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    order_no: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # values sealed (core.pii)
    contact_phone_bidx: Mapped[str | None] = mapped_column(String(128), index=True)
    contact_email_bidx: Mapped[str | None] = mapped_column(String(128), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    collaborator_department_ids: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), default=list, server_default="{}"
    )
    # The policy version + calendar the workflow bound at creation, and the clock's input
    # facts: the API recomputes the SLA block from exactly what the workflow uses.
    sla_binding: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    sla_events: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    policy_id: Mapped[int | None] = mapped_column(Integer)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    calendar_version: Mapped[int | None] = mapped_column(Integer)
    # Highest event seq folded into this row: projection writes apply only forward.
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Admin-defined fields (custom_field_definitions), validated on write; GIN-indexed.
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

    __table_args__ = (
        Index("ix_tickets_status_id", "status", "id"),
        Index("ix_tickets_department_id_id", "department_id", "id"),
        Index("ix_tickets_assignee_id_id", "assignee_id", "id"),
        # A policy rollout pages through the open tickets of one policy by id.
        Index(
            "ix_tickets_policy_open", "policy_id", "id", postgresql_where=text("status <> 'closed'")
        ),
    )


class TicketEvent(Base):
    """One entry of a ticket's timeline; (ticket_id, seq) makes every write idempotent."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    __table_args__ = (UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_ticket_seq"),)


class TicketCounter(Base):
    """Daily sequence behind FByyyymmddNNN numbers."""

    __tablename__ = "ticket_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class IdempotencyKey(Base):
    """Maps a client's Idempotency-Key to the ticket number it created."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
