"""Ticket reads: the filtered list, one ticket, and its timeline (attachments included)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import or_, select

from api.deps import CurrentUser, SessionDep
from api.notifications.service import merge_timeline, notification_failures
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from api.tickets import service
from api.tickets.schemas import EventOut, TicketOut
from domain.custom_fields import Entity
from domain.sla import Priority
from domain.tickets import TicketStatus
from models import Ticket, TicketEvent
from services.attachments.timeline import with_attachments
from services.custom_fields import service as custom_fields

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.get("", response_model=Page[TicketOut])
async def list_tickets(
    request: Request,
    caller: CurrentUser,
    session: SessionDep,
    status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
    priority: Priority | None = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    assignee_id: Annotated[int | None, Query(ge=1)] = None,
    breached: bool | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[TicketOut]:
    """Newest first, filtered (`?cf.<key>=value` by custom field), within the caller's scope."""
    query = select(Ticket).where(
        *await custom_fields.filter_clauses(
            session, Entity.TICKET, Ticket.custom_fields, request.query_params
        )
    )
    condition = service.scope_filter(caller)
    if condition is not None:
        query = query.where(condition)
    filters = {
        Ticket.status: status_,
        Ticket.priority: priority,
        Ticket.department_id: department_id,
        Ticket.assignee_id: assignee_id,
        Ticket.sla_breached: breached,
        Ticket.category: category,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Ticket.title.ilike(pattern), Ticket.number.ilike(pattern)))
    rows, next_cursor = await fetch_page(
        session, query, Ticket.id, limit, cursor, newest_first=True
    )
    return Page(
        items=[service.ticket_view(r, caller, session=session) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/{ref}", response_model=TicketOut)
async def get_ticket(ref: str, caller: CurrentUser, session: SessionDep) -> TicketOut:
    """One ticket by id or number."""
    ticket = await service.get_ticket(session, caller, ref)
    view = service.ticket_view(ticket, caller, session=session)
    view.custom_field_flags = await custom_fields.flags(session, Entity.TICKET, view.custom_fields)
    return view


@router.get("/{ref}/events", response_model=list[EventOut])
async def ticket_events(ref: str, caller: CurrentUser, session: SessionDep) -> list[Any]:
    """The ordered timeline, with permanent notification failures after their event."""
    ticket = await service.get_ticket(session, caller, ref)
    rows = await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)
    )
    failures = await notification_failures(session, ticket.id)
    return await with_attachments(session, ticket.id, merge_timeline(list(rows), failures))
