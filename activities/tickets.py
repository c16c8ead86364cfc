"""Activities of the ticket workflow: every write is keyed, so a retry never duplicates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.notify.outbox import (
    IN_APP_ONLY,
    DeliveryStarter,
    channels_for,
    customer_notices,
    queue_webhooks,
)
from activities.recipients import resolve_recipients
from activities.report_facts import write_ticket_facts
from activities.sla_binding import bind_policy
from core import pii
from domain.calendar import CalendarSpec
from domain.sla import PolicyVersion
from models import Notification, Ticket, TicketEvent
from workflows.ticket_types import (
    CreatedRecord,
    CreateTicketRecord,
    EventDraft,
    NotificationRequest,
    TicketChanges,
    TicketState,
)


class TicketActivities:
    """Holds the session factory; one transaction per activity."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: DeliveryStarter | None = None,
    ) -> None:
        self._sessions = sessions
        # Without a notifier only in-app rows are written (nothing leaves the building).
        self._notifier = notifier

    @activity.defn(name="create_ticket_record")
    async def create_ticket_record(self, inp: CreateTicketRecord) -> CreatedRecord:
        """Insert the ticket row and its `created` event, binding the SLA policy once."""
        t = inp.ticket
        keys: list[str] = []
        async with self._sessions.begin() as session:
            existing = await session.scalar(
                select(Ticket).where(Ticket.workflow_id == inp.workflow_id)
            )
            if existing is None:
                bound = await bind_policy(
                    session, t.category, t.department_id, inp.at, t.customer_id
                )
                policy, calendar = bound.policy, bound.calendar
                row = Ticket(
                    number=t.number,
                    workflow_id=inp.workflow_id,
                    title=t.title,
                    description=t.description,
                    category=t.category,
                    priority=t.priority.value,
                    status="pending",
                    channel=t.channel.value,
                    department_id=t.department_id,
                    assignee_id=t.assignee_id,
                    customer_id=t.customer_id,
                    order_no=t.order_no,
                    contact=pii.seal_contact(t.contact.model_dump(exclude_none=True))
                    if t.contact
                    else None,
                    contact_phone_bidx=pii.phone_index(t.contact.phone) if t.contact else None,
                    contact_email_bidx=pii.email_index(t.contact.email) if t.contact else None,
                    created_by=t.created_by,
                    custom_fields=t.custom_fields,
                    created_at=inp.at,
                    updated_at=inp.at,
                    sla_binding={
                        "policy": policy.model_dump(mode="json"),
                        "calendar": calendar.model_dump(mode="json"),
                        "calendar_version": bound.calendar_version,
                    },
                    sla_events=[
                        {"kind": "created", "at": inp.at.isoformat(), "priority": t.priority.value}
                    ],
                    policy_id=policy.policy_id,
                    policy_version=policy.version,
                    calendar_version=bound.calendar_version,
                    last_seq=1,
                )
                session.add(row)
                await session.flush()
                data = {
                    "channel": t.channel.value,
                    "priority": t.priority.value,
                    "category": t.category,
                    "department_id": t.department_id,
                    "assignee_id": t.assignee_id,
                    "policy_id": policy.policy_id,
                    "policy_version": policy.version,
                }
                await session.execute(
                    insert(TicketEvent)
                    .values(
                        ticket_id=row.id, seq=1, at=inp.at, type="created", actor=t.actor, data=data
                    )
                    .on_conflict_do_nothing()
                )
                existing = row
                await write_ticket_facts(session, row.id)
            if self._notifier is not None:
                created = EventDraft(seq=1, at=inp.at, type="created", actor=t.actor, data={})
                keys = await queue_webhooks(session, inp.workflow_id, existing.id, [created])
            binding = existing.sla_binding or {}
            record = CreatedRecord(
                ticket_id=existing.id,
                created_at=existing.created_at,
                policy=PolicyVersion.model_validate(binding["policy"]),
                calendar=CalendarSpec.model_validate(binding["calendar"]),
                calendar_version=binding.get("calendar_version"),
            )
        if self._notifier is not None:
            await self._notifier.start(keys)
        return record

    @activity.defn(name="apply_ticket_changes")
    async def apply_ticket_changes(self, inp: TicketChanges) -> None:
        """Append events, move the projection forward and queue notifications, atomically."""
        s = inp.state
        last_seq = max(event.seq for event in inp.events)
        keys: list[str] = []
        async with self._sessions.begin() as session:
            await session.execute(
                insert(TicketEvent)
                .values([_event_row(s.ticket_id, event) for event in inp.events])
                .on_conflict_do_nothing(constraint="uq_ticket_events_ticket_seq")
            )
            await session.execute(
                update(Ticket)
                .where(Ticket.id == s.ticket_id, Ticket.last_seq < last_seq)
                .values(
                    priority=s.priority.value,
                    status=s.status.value,
                    department_id=s.department_id,
                    assignee_id=s.assignee_id,
                    updated_at=s.updated_at,
                    resolved_at=s.resolved_at,
                    closed_at=s.closed_at,
                    first_response_at=s.first_response_at,
                    reopen_count=s.reopen_count,
                    escalation_level=s.escalation_level,
                    satisfaction=s.satisfaction.value if s.satisfaction else None,
                    collaborator_department_ids=s.collaborator_department_ids,
                    sla_events=[event.model_dump(mode="json") for event in s.sla_events],
                    sla_breached=inp.sla_breached,
                    last_seq=last_seq,
                    **_binding_values(s),
                )
            )
            await write_ticket_facts(session, s.ticket_id)
            requests = [*inp.notifications, *customer_notices(inp.events)]
            for request in requests:
                keys += await self._queue(
                    session, inp.workflow_id, s.ticket_id, s.assignee_id, request
                )
            if self._notifier is not None:
                keys += await queue_webhooks(session, inp.workflow_id, s.ticket_id, inp.events)
        # Deliveries start only once the rows are committed; a retry finds them started.
        if self._notifier is not None:
            await self._notifier.start(keys)

    async def _queue(
        self,
        session: AsyncSession,
        workflow_id: str,
        ticket_id: int,
        assignee_id: int | None,
        request: NotificationRequest,
    ) -> list[str]:
        """Insert the outbox rows of one request; the keys of those that must leave."""
        recipients = await resolve_recipients(
            session, request.notify, assignee_id=assignee_id, department_id=request.department_id
        )
        now = datetime.now(UTC)
        enabled = self._notifier.channels if self._notifier is not None else IN_APP_ONLY
        rows: list[dict[str, Any]] = []
        for recipient in recipients:
            channels = await channels_for(
                session, recipient.key, recipient.user_id, request.channels, ticket_id, enabled
            )
            for channel in channels:
                in_app = channel == "in_app"
                rows.append(
                    {
                        "idempotency_key": ":".join(
                            [
                                workflow_id,
                                str(request.event_seq),
                                request.template,
                                recipient.key,
                                channel,
                            ]
                        ),
                        "ticket_id": ticket_id,
                        "user_id": recipient.user_id,
                        "recipient": recipient.key,
                        "channel": channel,
                        "template": request.template,
                        "payload": request.data,
                        # In-app rows are delivered by being written; others await delivery.
                        "status": "delivered" if in_app else "pending",
                        "delivered_at": now if in_app else None,
                    }
                )
        if rows:
            await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
        return [row["idempotency_key"] for row in rows if row["channel"] != "in_app"]


def _binding_values(s: TicketState) -> dict[str, Any]:
    """The binding columns: a rollout may have moved it, and the read model follows."""
    if s.calendar_version is None:
        return {}  # bound before calendar versions and never rebound: the row is right
    return {
        "sla_binding": {
            "policy": s.policy.model_dump(mode="json"),
            "calendar": s.calendar.model_dump(mode="json"),
            "calendar_version": s.calendar_version,
        },
        "policy_id": s.policy.policy_id,
        "policy_version": s.policy.version,
        "calendar_version": s.calendar_version,
    }


def _event_row(ticket_id: int, event: EventDraft) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "seq": event.seq,
        "at": event.at,
        "type": event.type,
        "actor": event.actor,
        "data": event.data,
    }
