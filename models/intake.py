"""Intake: feedback categories, routing rules, public status tokens, external ids, RR cursors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Category(Base):
    """A feedback category (功能建议, 产品质量 …) with its default priority and department."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    default_priority: Mapped[str] = mapped_column(String(16), default="normal")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()


class RoutingRule(Base):
    """Criteria (null / empty = any) → department and assignee strategy; see domain.routing."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    category: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(24))
    customer_tier: Mapped[str | None] = mapped_column(String(24))
    keywords: Mapped[list[str]] = mapped_column(
        ARRAY(String(100)), default=list, server_default="{}"
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    assignee_strategy: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PublicToken(Base):
    """A customer's secret link to one ticket; only the SHA-256 of the token is stored."""

    __tablename__ = "public_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_number: Mapped[str] = mapped_column(String(32), index=True)
    # status: the status page link; reply: the address tag of inbound mail replies.
    kind: Mapped[str] = mapped_column(String(16), default="status", server_default="status")
    created_at: Mapped[datetime] = created_at_column()


class ExternalRef(Base):
    """A conversation id of an outside system (source, external_id) → the one ticket it made."""

    __tablename__ = "external_refs"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    ticket_number: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()


class RoundRobinCursor(Base):
    """Who got a department's last round-robin ticket."""

    __tablename__ = "round_robin_cursors"

    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True
    )
    last_user_id: Mapped[int | None] = mapped_column(Integer)
    last_ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
