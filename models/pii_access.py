"""Append-only log of clear-text reads of personal data (contact name, phone, email)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class PiiAccess(Base):
    """One row per request and resource whose contact was shown in clear text."""

    __tablename__ = "pii_access_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resource: Mapped[str] = mapped_column(String(16))  # ticket | customer
    resource_id: Mapped[int] = mapped_column(BigInteger)
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    reason: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_pii_access_log_resource", "resource", "resource_id"),
        Index("ix_pii_access_log_user_id_id", "user_id", "id"),
    )
