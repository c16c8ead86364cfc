"""Ticket reads shared by the JSON endpoints and the console: the list query, the timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Principal
from api.notifications.service import merge_timeline, notification_failures
from api.tickets.service import scope_filter
from domain.custom_fields import Entity
from domain.sla import Priority
from domain.tickets import OPEN_STATUSES, TicketStatus
from models import Ticket, TicketEvent
from services.attachments.timeline import with_attachments
from services.custom_fields import service as custom_fields


@dataclass(frozen=True)
class TicketFilters:
    """The list's filters; None means no filter on that column."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    breached: bool | None = None
    category: str | None = None
    q: str | None = None
    open_only: bool = False
    unassigned: bool = False


async def ticket_list_query(
    session: AsyncSession,
    principal: Principal,
    filters: TicketFilters,
    params: Mapping[str, str] | None = None,
) -> Select[Ticket]:
    """Tickets in the caller's scope matching the filters (`cf.<key>` custom fields in params)."""
    query = select(Ticket)
    if params is not None:
        query = query.where(
            *await custom_fields.filter_clauses(
                session, Entity.TICKET, Ticket.custom_fields, params
            )
        )
    condition = scope_filter(principal)
    if condition is not None:
        query = query.where(condition)
    columns = {
        Ticket.status: filters.status,
        Ticket.priority: filters.priority,
        Ticket.department_id: filters.department_id,
        Ticket.assignee_id: filters.assignee_id,
        Ticket.sla_breached: filters.breached,
        Ticket.category: filters.category,
    }
    for column, value in columns.items():
        if value is not None:
            query = query.where(column == value)
    if filters.open_only:
        query = query.where(Ticket.status.in_(sorted(OPEN_STATUSES)))
    if filters.unassigned:
        query = query.where(Ticket.assignee_id.is_(None))
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(or_(Ticket.title.ilike(pattern), Ticket.number.ilike(pattern)))
    return query


async def ticket_timeline(session: AsyncSession, ticket: Ticket) -> list[Any]:
    """The ordered events, permanent notification failures after their event, attachments."""
    rows = await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)
    )
    failures = await notification_failures(session, ticket.id)
    return await with_attachments(session, ticket.id, merge_timeline(list(rows), failures))
