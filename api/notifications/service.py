"""Inbox, preferences and timeline failures: the queries behind the notification endpoints."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.notify.prepare import ticket_context
from activities.notify.render import Renderer
from api.deps import Principal
from api.notifications.destinations import checked_url
from api.notifications.schemas import (
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    QuietHoursBody,
)
from api.pagination import Page, fetch_page
from core import pii
from core.errors import Invalid, NotFound
from core.settings import Settings
from domain.notify import NotifyChannel, language, normalize_phone
from models import Notification, NotificationPreference, Ticket

_renderer = Renderer()
# A chosen channel needs its address.
_ADDRESS_OF = {
    NotifyChannel.SMS: "phone",
    NotifyChannel.WECOM: "wecom_webhook_url",
    NotifyChannel.DINGTALK: "dingtalk_webhook_url",
    NotifyChannel.FEISHU: "feishu_webhook_url",
}


async def inbox_page(
    session: AsyncSession,
    caller: Principal,
    settings: Settings,
    *,
    unread: bool | None,
    limit: int,
    cursor: str | None,
) -> Page[NotificationOut]:
    """The caller's in-app notifications, newest first, subjects in their language."""
    query = select(Notification).where(
        Notification.user_id == caller.user_id, Notification.channel == NotifyChannel.IN_APP
    )
    if unread is not None:
        query = query.where(
            Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None)
        )
    rows, next_cursor = await fetch_page(
        session, query, Notification.id, limit, cursor, newest_first=True
    )
    prefs = await session.get(NotificationPreference, caller.user_id)
    ticket_ids = {r.ticket_id for r in rows if r.ticket_id is not None}
    tickets = {
        t.id: t for t in await session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))
    }
    items = [inbox_item(r, tickets.get(r.ticket_id or 0), prefs, settings) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


async def mark_read(
    session: AsyncSession, caller: Principal, settings: Settings, notification_id: int
) -> NotificationOut:
    """Idempotent: the first read time is kept. 404 for anybody else's notification."""
    row = await session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.user_id == caller.user_id,
            Notification.channel == NotifyChannel.IN_APP,
        )
    )
    if row is None:
        raise NotFound(f"notification {notification_id} not found")
    if row.read_at is None:
        row.read_at = datetime.now(UTC)
        await session.commit()
    ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    prefs = await session.get(NotificationPreference, caller.user_id)
    return inbox_item(row, ticket, prefs, settings)


def inbox_item(
    row: Notification,
    ticket: Ticket | None,
    prefs: NotificationPreference | None,
    settings: Settings,
) -> NotificationOut:
    lang = language(prefs.locale if prefs else None, settings.notify_default_locale)
    context = ticket_context(ticket) if ticket is not None else {"number": None}
    message = _renderer.render(
        row.template,
        lang,
        ticket=context,
        data=row.payload,
        link="",
        timezone=prefs.timezone if prefs else settings.timezone,
    )
    return NotificationOut(
        id=row.id,
        ticket_id=row.ticket_id,
        ticket_number=ticket.number if ticket else None,
        template=row.template,
        subject=message.subject,
        payload=row.payload,
        created_at=row.created_at,
        read_at=row.read_at,
        read=row.read_at is not None,
    )


def preferences_view(prefs: NotificationPreference | None, settings: Settings) -> PreferencesOut:
    """Stored preferences, or the defaults a person without any gets."""
    if prefs is None:
        return PreferencesOut(
            channels=["in_app", "email"],
            quiet_hours=None,
            timezone=settings.timezone,
            locale=settings.notify_default_locale,
            phone=None,
            wecom_webhook_url=None,
            dingtalk_webhook_url=None,
            has_dingtalk_secret=False,
            feishu_webhook_url=None,
            has_feishu_secret=False,
        )
    quiet = None
    if prefs.quiet_hours_start is not None and prefs.quiet_hours_end is not None:
        quiet = QuietHoursBody(start=prefs.quiet_hours_start, end=prefs.quiet_hours_end)
    return PreferencesOut(
        channels=list(prefs.channels),
        quiet_hours=quiet,
        timezone=prefs.timezone,
        locale=prefs.locale,
        phone=pii.unseal_opt(prefs.phone),
        wecom_webhook_url=pii.unseal_opt(prefs.wecom_webhook_url),
        dingtalk_webhook_url=pii.unseal_opt(prefs.dingtalk_webhook_url),
        has_dingtalk_secret=bool(prefs.dingtalk_secret),
        feishu_webhook_url=pii.unseal_opt(prefs.feishu_webhook_url),
        has_feishu_secret=bool(prefs.feishu_secret),
    )


async def save_preferences(
    session: AsyncSession, caller: Principal, body: PreferencesIn, settings: Settings
) -> NotificationPreference:
    """Replace the caller's preferences; secrets left out of the body are kept."""
    try:
        ZoneInfo(body.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid("body.timezone", f"unknown timezone {body.timezone!r}") from exc
    phone = None
    if body.phone:
        phone = normalize_phone(body.phone)
        if phone is None:
            raise Invalid("body.phone", "not a phone number")
    channels: list[str] = list(dict.fromkeys(body.channels))
    values: dict[str, Any] = body.model_dump(
        include={"wecom_webhook_url", "dingtalk_webhook_url", "feishu_webhook_url"}
    )
    values["phone"] = phone
    for channel, field in _ADDRESS_OF.items():
        if channel in channels and not values[field]:
            raise Invalid(f"body.{field}", f"the {channel.value} channel needs {field}")
        if field != "phone" and values[field]:
            values[field] = checked_url(settings, f"body.{field}", values[field], channel.value)
    prefs = await session.get(NotificationPreference, caller.user_id)
    if prefs is None:
        prefs = NotificationPreference(user_id=caller.user_id)
        session.add(prefs)
    # Sealed at rest: the phone is personal data, robot URLs and secrets are credentials.
    for name, value in values.items():
        setattr(prefs, name, pii.seal_opt(value))
    for secret in ("dingtalk_secret", "feishu_secret"):
        if secret in body.model_fields_set:
            setattr(prefs, secret, pii.seal_opt(getattr(body, secret)))
    prefs.channels = channels
    prefs.timezone = body.timezone
    prefs.locale = body.locale
    prefs.quiet_hours_start = body.quiet_hours.start if body.quiet_hours else None
    prefs.quiet_hours_end = body.quiet_hours.end if body.quiet_hours else None
    await session.commit()
    return prefs


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def notification_failures(session: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    """Permanent delivery failures as timeline entries of type `notification_failed`.

    They live on the outbox row (the ticket workflow owns `ticket_events` and its seq), carry
    the seq of the event whose notice failed, and are merged into the timeline on read.
    """
    rows = await session.scalars(
        select(Notification)
        .where(Notification.ticket_id == ticket_id, Notification.status == "failed")
        .order_by(Notification.id)
    )
    return [
        {
            "seq": _event_seq(row.idempotency_key),
            "at": row.failed_at or row.created_at,
            "type": "notification_failed",
            "actor": "system",
            "data": {
                "notification_id": row.id,
                "channel": row.channel,
                "recipient": row.recipient,
                "template": row.template,
                "attempts": row.attempts,
                "error": row.error,
            },
        }
        for row in rows
    ]


def merge_timeline(events: list[Any], failures: list[dict[str, Any]]) -> list[Any]:
    """Each failure right after the event it belongs to (stable by seq)."""
    if not failures:
        return events
    merged: list[tuple[int, int, Any]] = [(e.seq, 0, e) for e in events]
    merged += [(f["seq"], 1, f) for f in failures]
    merged.sort(key=lambda item: (item[0], item[1]))
    return [item for _, _, item in merged]


def _event_seq(key: str) -> int:
    """Outbox keys are `<workflow id>:<event seq>:...`."""
    parts = key.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
