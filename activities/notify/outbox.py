"""Outbox planning (which channels reach whom) and starting one delivery workflow per row."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.settings import Settings
from domain.notify import (
    NotifyChannel,
    QuietHours,
    customer_channel,
    customer_progress,
    is_push,
    is_urgent,
    subscribed,
    user_channels,
)
from models import Notification, NotificationPreference, Ticket, WebhookSubscription
from workflows.notification import DeliveryInput
from workflows.ticket_types import EventDraft, NotificationRequest

IN_APP_ONLY = frozenset({NotifyChannel.IN_APP.value})


def enabled_channels(settings: Settings) -> frozenset[str]:
    """Channels this deployment can deliver: email needs SMTP, SMS needs a gateway."""
    channels = {c.value for c in NotifyChannel} - {NotifyChannel.EMAIL, NotifyChannel.SMS}
    if settings.smtp_host:
        channels.add(NotifyChannel.EMAIL.value)
    if settings.sms_gateway_url:
        channels.add(NotifyChannel.SMS.value)
    return frozenset(channels)


async def channels_for(
    session: AsyncSession,
    recipient_key: str,
    user_id: int | None,
    requested: Sequence[str],
    ticket_id: int,
    enabled: frozenset[str],
) -> list[str]:
    """A customer gets email or SMS from the ticket's contact; a person their preferred channels."""
    if user_id is None:
        if recipient_key != "customer":
            return []
        contact = await session.scalar(select(Ticket.contact).where(Ticket.id == ticket_id))
        channel = customer_channel(contact, enabled)
        return [channel] if channel else []
    prefs = await session.get(NotificationPreference, user_id)
    reachable = set(enabled)
    addresses = {
        NotifyChannel.SMS: prefs.phone if prefs else None,
        NotifyChannel.WECOM: prefs.wecom_webhook_url if prefs else None,
        NotifyChannel.DINGTALK: prefs.dingtalk_webhook_url if prefs else None,
        NotifyChannel.FEISHU: prefs.feishu_webhook_url if prefs else None,
    }
    reachable -= {channel.value for channel, address in addresses.items() if not address}
    reachable.discard(NotifyChannel.WEBHOOK.value)
    return user_channels(requested, prefs.channels if prefs else None, reachable)


def customer_notices(events: Sequence[EventDraft]) -> list[NotificationRequest]:
    """Status changes the customer hears about, with the status link (resolution excepted)."""
    return [
        NotificationRequest(
            event_seq=event.seq,
            notify="customer",
            template="status_changed",
            data={"event": event.type, **event.data, "to": event.data.get("to", "closed")},
        )
        for event in events
        # Nobody needs telling about a change they made themselves (a reply, a survey).
        if event.actor != "customer" and customer_progress(event.type, event.data)
    ]


async def queue_webhooks(
    session: AsyncSession, workflow_id: str, ticket_id: int, events: Sequence[EventDraft]
) -> list[str]:
    """One outbox row per active subscription and matching timeline event; their keys."""
    active = select(WebhookSubscription).where(WebhookSubscription.active)
    subs = list(await session.scalars(active))
    rows: list[dict[str, Any]] = [
        {
            "idempotency_key": f"{workflow_id}:{event.seq}:webhook:{sub.id}",
            "ticket_id": ticket_id,
            "user_id": None,
            "recipient": f"webhook:{sub.id}",
            "channel": NotifyChannel.WEBHOOK.value,
            "template": event.type,
            "payload": {
                "seq": event.seq,
                "at": event.at.isoformat(),
                "actor": event.actor,
                **event.data,
            },
            "status": "pending",
        }
        for event in events
        for sub in subs
        if subscribed(sub.events, event.type)
    ]
    if rows:
        await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
    return [row["idempotency_key"] for row in rows]


class DeliveryStarter:
    """Starts `NotificationDelivery` for outbox rows after their transaction committed."""

    def __init__(
        self, client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._task_queue = settings.delivery_task_queue
        self.channels = enabled_channels(settings)
        self._push_quiet = push_quiet_hours(settings)

    async def start(self, keys: Sequence[str]) -> None:
        """Idempotent: a row whose workflow already ran (or runs) is not started twice."""
        if not keys:
            return
        async with self._sessions() as session:
            found = await session.execute(
                select(Notification, Ticket.priority, NotificationPreference)
                .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
                .outerjoin(
                    NotificationPreference,
                    NotificationPreference.user_id == Notification.user_id,
                )
                .where(
                    Notification.idempotency_key.in_(list(keys)),
                    Notification.status == "pending",
                    Notification.channel != NotifyChannel.IN_APP.value,
                )
            )
            plans = [
                delivery_input(row, priority, prefs, self._push_quiet)
                for row, priority, prefs in found
            ]
        await asyncio.gather(*(self._start_one(plan) for plan in plans))

    async def _start_one(self, plan: DeliveryInput) -> None:
        # A retried activity finds this row's delivery started (or finished) already.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                "NotificationDelivery",
                plan,
                id=f"notify-{plan.notification_id}",
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )


def push_quiet_hours(settings: Settings) -> QuietHours | None:
    """The local night during which automatic pushes to customers wait."""
    start, end = settings.push_quiet_start, settings.push_quiet_end
    if start is None or end is None:
        return None
    return QuietHours(start=start, end=end, timezone=settings.timezone)


def delivery_input(
    row: Notification,
    priority: str | None,
    prefs: NotificationPreference | None,
    push_quiet: QuietHours | None = None,
) -> DeliveryInput:
    """Urgency and the recipient's quiet hours, fixed when the notice is queued."""
    if is_push(row.recipient):  # a plan's push: never at night
        return DeliveryInput(notification_id=row.id, quiet=push_quiet)
    quiet = None
    if (
        prefs is not None
        and prefs.quiet_hours_start is not None
        and prefs.quiet_hours_end is not None
    ):
        quiet = QuietHours(
            start=prefs.quiet_hours_start, end=prefs.quiet_hours_end, timezone=prefs.timezone
        )
    urgent = is_urgent(row.template, priority)
    return DeliveryInput(notification_id=row.id, urgent=urgent, quiet=quiet)
