"""Console ticket pages: the agent's home queue, the filtered list, one ticket and its actions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.tickets import service
from api.tickets.listing import TicketFilters, ticket_list_query, ticket_timeline
from api.tickets.schemas import EventOut, TicketOut
from console.auth import ConsoleCaller, ConsoleUser, check_csrf
from console.badges import Badge, at_risk_first, badge
from console.filters import ListParams
from console.render import render
from core.errors import Conflict, Invalid, NotFound
from domain.tickets import ALLOWED_TRANSITIONS, TicketStatus
from models import Ticket
from workflows.ticket_types import CommentInput, StatusInput

router = APIRouter(include_in_schema=False)
QUEUE_LIMIT = 100


async def _rows(
    session: SessionDep, caller: ConsoleCaller, filters: TicketFilters, limit: int
) -> list[tuple[TicketOut, Badge]]:
    query = await ticket_list_query(session, caller.principal, filters)
    tickets = await session.scalars(query.order_by(Ticket.id.desc()).limit(limit))
    views = [service.ticket_view(t, caller.principal, session=None) for t in tickets]
    return [(view, badge(view)) for view in views]


@router.get("/")
async def home(request: Request, caller: ConsoleUser, session: SessionDep) -> Response:
    """My open tickets and my department's unassigned ones, at risk first."""
    me = caller.principal
    mine = await _rows(
        session, caller, TicketFilters(assignee_id=me.user_id, open_only=True), QUEUE_LIMIT
    )
    unassigned: list[tuple[TicketOut, Badge]] = []
    if me.department_id is not None:
        filters = TicketFilters(department_id=me.department_id, unassigned=True, open_only=True)
        unassigned = await _rows(session, caller, filters, QUEUE_LIMIT)
    context = {
        "caller": caller,
        "mine": at_risk_first(mine),
        "unassigned": at_risk_first(unassigned),
    }
    return render(request, "home.html", caller.lang, context)


@router.get("/tickets")
async def ticket_list(request: Request, caller: ConsoleUser, session: SessionDep) -> Response:
    """The filtered list; every filter lives in the URL so links and reloads keep it."""
    params = ListParams.from_query(request.query_params)
    rows = await _rows(session, caller, params.filters(), params.limit)
    context = {"caller": caller, "rows": rows, "params": params, "statuses": list(TicketStatus)}
    return render(request, "tickets.html", caller.lang, context)


async def _ticket_page(
    request: Request,
    caller: ConsoleCaller,
    session: SessionDep,
    ref: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        ticket = await service.get_ticket(session, caller.principal, ref)
    except NotFound:
        return render(request, "not_found.html", caller.lang, {"caller": caller}, 404)
    view = service.ticket_view(ticket, caller.principal, session=session)
    events = [EventOut.model_validate(e) for e in await ticket_timeline(session, ticket)]
    await session.commit()  # the PII access log of a clear-text contact
    context = {
        "caller": caller,
        "ticket": view,
        "badge": badge(view),
        "events": events,
        "transitions": sorted(ALLOWED_TRANSITIONS[TicketStatus(view.status)]),
        "error": error,
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "ticket.html", caller.lang, context, status_code)


@router.get("/tickets/{ref}")
async def ticket_page(
    ref: str, request: Request, caller: ConsoleUser, session: SessionDep
) -> Response:
    """Header, SLA badge, timeline (polled for new events) and the action forms."""
    return await _ticket_page(request, caller, session, ref)


@router.get("/tickets/{ref}/timeline")
async def timeline(
    ref: str, request: Request, caller: ConsoleUser, session: SessionDep
) -> Response:
    """The timeline fragment htmx polls, so new events appear without a reload."""
    try:
        ticket = await service.get_ticket(session, caller.principal, ref)
    except NotFound:
        return render(request, "not_found.html", caller.lang, {"caller": caller}, 404)
    events = [EventOut.model_validate(e) for e in await ticket_timeline(session, ticket)]
    context = {"events": events, "ticket_ref": ref}
    return render(request, "_timeline.html", caller.lang, context)


async def _update(
    request: Request,
    caller: ConsoleCaller,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    ref: str,
    update: str,
    arg: StatusInput | CommentInput,
    key: str,
) -> Response:
    ticket = await service.get_ticket(session, caller.principal, ref)
    try:
        await service.run_update(client, settings, ticket, update, arg, f"console:{key}")
    except (Conflict, Invalid) as exc:
        return await _ticket_page(request, caller, session, ref, exc.message, exc.status_code)
    return RedirectResponse(f"/console/tickets/{ticket.id}", status_code=303)


@router.post("/tickets/{ref}/status")
async def change_status(
    ref: str,
    request: Request,
    caller: ConsoleUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    status: Annotated[TicketStatus, Form()],
    idempotency_key: Annotated[str, Form(min_length=1, max_length=64)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    note: Annotated[str | None, Form(max_length=2_000)] = None,
) -> Response:
    """Move the ticket along the status machine; a refusal shows its message (409)."""
    check_csrf(caller.csrf_token, csrf_token)
    arg = StatusInput(actor=caller.principal.actor, status=status, note=note or None)
    return await _update(
        request, caller, session, client, settings, ref, "set_status", arg, idempotency_key
    )


@router.post("/tickets/{ref}/comments")
async def add_comment(
    ref: str,
    request: Request,
    caller: ConsoleUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    body: Annotated[str, Form(min_length=1, max_length=10_000)],
    idempotency_key: Annotated[str, Form(min_length=1, max_length=64)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    public: Annotated[bool, Form()] = False,
) -> Response:
    """A public reply or an internal note."""
    check_csrf(caller.csrf_token, csrf_token)
    arg = CommentInput(actor=caller.principal.actor, body=body, public=public)
    return await _update(
        request, caller, session, client, settings, ref, "comment", arg, idempotency_key
    )
