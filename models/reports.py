"""Customer orders, per-ticket report facts, the keyword dictionary and scheduled reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class CustomerOrder(Base):
    """A purchase record; `source` says whether staff, an import or an accepted quote added it."""

    __tablename__ = "customer_orders"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    order_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY", server_default="CNY")
    ordered_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    source_ref: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class TicketReportFacts(Base):
    """One narrow row per ticket: what every ticket report aggregates (see README definitions)."""

    __tablename__ = "ticket_report_facts"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    department_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    first_response_business_s: Mapped[int | None] = mapped_column(Integer)
    first_response_calendar_s: Mapped[int | None] = mapped_column(Integer)
    resolution_business_s: Mapped[int | None] = mapped_column(Integer)
    resolution_calendar_s: Mapped[int | None] = mapped_column(Integer)
    first_response_target_s: Mapped[int | None] = mapped_column(Integer)
    resolution_target_s: Mapped[int | None] = mapped_column(Integer)
    first_response_met: Mapped[bool | None] = mapped_column(Boolean)
    resolution_met: Mapped[bool | None] = mapped_column(Boolean)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class ReportWord(Base):
    """An admin's addition to keyword extraction: a `user` term or a `stop` word."""

    __tablename__ = "report_words"

    word: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class ReportSchedule(Base):
    """A weekly or monthly report, each backed by a Temporal Schedule `report-schedule-<id>`."""

    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    reports: Mapped[list[str]] = mapped_column(JSONB)
    cadence: Mapped[str] = mapped_column(String(8))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    recipients: Mapped[list[int]] = mapped_column(JSONB)
    format: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)


class ReportRun(Base):
    """One rendered period of a schedule; (schedule, period_start) makes a rerun find it."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("report_schedules.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    filename: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
