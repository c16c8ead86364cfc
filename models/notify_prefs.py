"""Per-user notification preferences and admin webhook subscriptions."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text, Time, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class NotificationPreference(Base):
    """Which channels reach a person, when they are quiet, and in which language."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    # Addresses and secrets below are sealed (core.pii): robot URLs carry access tokens.
    phone: Mapped[str | None] = mapped_column(Text)
    wecom_webhook_url: Mapped[str | None] = mapped_column(Text)
    dingtalk_webhook_url: Mapped[str | None] = mapped_column(Text)
    dingtalk_secret: Mapped[str | None] = mapped_column(Text)
    feishu_webhook_url: Mapped[str | None] = mapped_column(Text)
    feishu_secret: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class WebhookSubscription(Base):
    """An outgoing webhook: timeline events of `events` ("*" for all), signed with `secret`."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(Text)  # sealed (core.pii)
    # After a rotation the old secret still signs (a second v1) until `previous_secret_until`.
    previous_secret: Mapped[str | None] = mapped_column(Text)  # sealed
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
