"""Follow-up plans (跟进计划): the projection row, its append-only timeline, customer pushes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class FollowUpPlan(Base):
    """Read model of a plan; written only by the FollowUpPlan workflow's activities."""

    __tablename__ = "follow_up_plans"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The plan's own ISO duration; NULL follows the tier/segment rule (`effective_cadence`).
    cadence: Mapped[str | None] = mapped_column(String(32))
    effective_cadence: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    status: Mapped[str] = mapped_column(String(16))
    grace_period: Mapped[str] = mapped_column(String(32))
    birthday_lead_days: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_touch_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    workflow_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_follow_up_plans_customer_id", "customer_id"),
        Index("ix_follow_up_plans_owner_id_id", "owner_id", "id"),
        Index("ix_follow_up_plans_status_next_due_at", "status", "next_due_at"),
    )


class FollowUpEvent(Base):
    """One entry of a plan's timeline; (plan_id, seq) makes every write idempotent."""

    __tablename__ = "follow_up_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("follow_up_plans.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    __table_args__ = (UniqueConstraint("plan_id", "seq", name="uq_follow_up_events_plan_seq"),)


class ContactPush(Base):
    """An automatic message to a customer; counted for monthly caps and unopened pauses."""

    __tablename__ = "contact_pushes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_up_plans.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set by a tracked-link hit or a reply; the first one wins.
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)

    __table_args__ = (Index("ix_contact_pushes_customer_id_at", "customer_id", "at"),)


__all__ = ["ContactPush", "FollowUpEvent", "FollowUpPlan"]
