"""Calendar versions and policy rollouts with their per-ticket progress rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class CalendarVersion(Base):
    """An immutable calendar body; the `calendars` row mirrors the current one."""

    __tablename__ = "calendar_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # {name, timezone, working_hours, holidays, extra_workdays}
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (UniqueConstraint("calendar_id", "version", name="uq_calendar_versions"),)


class PolicyRollout(Base):
    """One publish of a policy version: its mode, status and counts."""

    __tablename__ = "policy_rollouts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id", ondelete="CASCADE"))
    to_version: Mapped[int] = mapped_column(Integer)
    calendar_version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(24))  # new_tickets_only | rebind_open
    status: Mapped[str] = mapped_column(String(16))  # running | completed | failed
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rebound: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "uq_policy_rollouts_running",
            "policy_id",
            unique=True,
            postgresql_where=sql_text("status = 'running'"),
        ),
    )


class PolicyRolloutItem(Base):
    """A ticket's outcome in a rollout; the key makes a resumed rollout count it once."""

    __tablename__ = "policy_rollout_items"

    rollout_id: Mapped[int] = mapped_column(
        ForeignKey("policy_rollouts.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # rebound | skipped | failed
    detail: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = created_at_column()
