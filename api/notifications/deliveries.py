"""Delivery records of webhooks and robot channels: list, redeliver, test send, resume."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.notify.breaker import unpark
from api.notifications.delivery_schemas import ChannelState, DeliveryList, DeliveryOut
from api.pagination import fetch_page
from core import pii
from core.errors import Conflict, NotFound
from core.settings import Settings
from domain.notify import PING_TEMPLATE, REDELIVERY_PREFIX, NotifyChannel, redelivery_root
from models import DeliveryBreaker, Notification, WebhookSubscription
from workflows.notification import DeliveryInput


class Target:
    """Whose deliveries: a webhook subscription, or one robot channel of one person."""

    def __init__(self, channel: str, *, webhook_id: int | None = None, user_id: int | None = None):
        self.channel = channel
        self.webhook_id = webhook_id
        self.user_id = user_id

    @property
    def destination(self) -> str:
        if self.webhook_id is not None:
            return f"webhook:{self.webhook_id}"
        return f"user:{self.user_id}:{self.channel}"

    def where(self) -> list[Any]:
        if self.webhook_id is not None:
            return [
                Notification.channel == NotifyChannel.WEBHOOK.value,
                Notification.recipient == self.destination,
            ]
        return [Notification.user_id == self.user_id, Notification.channel == self.channel]


def delivery_item(row: Notification) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        event=row.template,
        status=row.status,
        attempts=row.attempts,
        response_status=row.response_status,
        error=" ".join((row.error or "").split())[:500] or None,
        latency_ms=row.latency_ms,
        created_at=row.created_at,
        ticket_id=row.ticket_id,
    )


async def list_deliveries(
    session: AsyncSession, target: Target, limit: int, cursor: str | None
) -> DeliveryList:
    """Newest first."""
    query = select(Notification).where(*target.where())
    rows, next_cursor = await fetch_page(
        session, query, Notification.id, limit, cursor, newest_first=True
    )
    return DeliveryList(items=[delivery_item(r) for r in rows], next_cursor=next_cursor)


async def redeliver(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    target: Target,
    delivery_id: int,
    key: str | None,
) -> DeliveryOut:
    """A new delivery of the same event and payload; the same Idempotency-Key makes no other."""
    original = await session.scalar(
        select(Notification).where(Notification.id == delivery_id, *target.where())
    )
    if original is None:
        raise NotFound(f"delivery {delivery_id} not found")
    if original.status == "pending":
        raise Conflict("the delivery is still in progress")
    # Every redelivery points at the first delivery of the event: the receiver sees one id.
    root_id = redelivery_root(original.idempotency_key) or original.id
    values = {
        "idempotency_key": f"{REDELIVERY_PREFIX}{root_id}:{key or uuid.uuid4().hex}",
        "ticket_id": original.ticket_id,
        "user_id": original.user_id,
        "recipient": original.recipient,
        "channel": original.channel,
        "template": original.template,
        "payload": original.payload,
        "status": "pending",
    }
    return await _queue(session, temporal, settings, values)


async def test_send(
    session: AsyncSession, temporal: Client, settings: Settings, target: Target, key: str | None
) -> DeliveryOut:
    """A `ping` through the channel, parked or not: delivered, it resumes the channel."""
    values = {
        "idempotency_key": f"ping:{target.destination}:{key or uuid.uuid4().hex}",
        "ticket_id": None,
        "user_id": target.user_id,
        "recipient": target.destination if target.webhook_id else f"user:{target.user_id}",
        "channel": target.channel,
        "template": PING_TEMPLATE,
        "payload": {"test": True, "at": datetime.now(UTC).isoformat()},
        "status": "pending",
    }
    return await _queue(session, temporal, settings, values)


async def _queue(
    session: AsyncSession, temporal: Client, settings: Settings, values: dict[str, Any]
) -> DeliveryOut:
    await session.execute(insert(Notification).values(values).on_conflict_do_nothing())
    await session.commit()
    row = await session.scalar(
        select(Notification).where(Notification.idempotency_key == values["idempotency_key"])
    )
    assert row is not None
    # A manual send does not wait for quiet hours.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await temporal.start_workflow(
            "NotificationDelivery",
            DeliveryInput(notification_id=row.id, urgent=True),
            id=f"notify-{row.id}",
            task_queue=settings.delivery_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return delivery_item(row)


async def channel_state(session: AsyncSession, target: Target) -> ChannelState:
    breaker = await session.get(DeliveryBreaker, target.destination, populate_existing=True)
    return ChannelState(
        destination=target.destination,
        consecutive_failures=breaker.consecutive_failures if breaker else 0,
        parked=bool(breaker and breaker.parked_at),
        parked_at=breaker.parked_at if breaker else None,
    )


async def resume(session: AsyncSession, target: Target) -> ChannelState:
    """An admin un-parks a destination."""
    await unpark(session, target.destination)
    await session.commit()
    return await channel_state(session, target)


async def rotate_secret(
    session: AsyncSession, sub: WebhookSubscription, secret: str, until: datetime
) -> datetime | None:
    """The new secret signs from now on; the old one also signs until `until`."""
    now = datetime.now(UTC)
    current = pii.unseal(sub.secret)
    sub.previous_secret = pii.seal(current) if until > now else None
    sub.previous_secret_until = until if until > now else None
    sub.secret = pii.seal(secret)
    await session.commit()
    return sub.previous_secret_until
