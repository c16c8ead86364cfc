"""SLA policies (versioned) and business calendars."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class BusinessCalendar(Base):
    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    # "24x7" or {"mon": [["09:00", "18:00"]], ...}
    working_hours: Mapped[Any] = mapped_column(JSONB)
    # "CN" | "none" | ISO country code | ["2026-10-01", ...]
    holidays: Mapped[Any] = mapped_column(JSONB)
    extra_workdays: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # The calendar_versions row this one mirrors.
    current_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = created_at_column()


class SlaPolicy(Base):
    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # {"categories": [...], "departments": [...]}: which new tickets bind to this policy.
    scope: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = created_at_column()


class SlaPolicyVersion(Base):
    __tablename__ = "sla_policy_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"))
    # targets, warn_at, escalation, tracking, revisit — the API body minus name/scope.
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (UniqueConstraint("policy_id", "version", name="uq_sla_policy_versions"),)
