"""Ticket reads: the filtered list, one ticket, and its timeline (attachments included)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import CurrentUser, SessionDep
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from api.tickets import service
from api.tickets.listing import TicketFilters, ticket_list_query, ticket_timeline
from api.tickets.schemas import EventOut, TicketOut
from domain.custom_fields import Entity
from domain.sla import Priority
from domain.tickets import TicketStatus
from models import Ticket
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
    filters = TicketFilters(
        status=status_,
        priority=priority,
        department_id=department_id,
        assignee_id=assignee_id,
        breached=breached,
        category=category,
        q=q,
    )
    query = await ticket_list_query(session, caller, filters, request.query_params)
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
    return await ticket_timeline(session, ticket)
