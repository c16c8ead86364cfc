"""Ticket endpoints: thin — parse, authorize, call the workflow, read the projection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import CurrentUser, Principal, SessionDep, SettingsDep, TemporalDep
from api.tickets import service
from api.tickets.reads import router as reads_router
from api.tickets.schemas import (
    AssignBody,
    CollaboratorBody,
    CommentBody,
    PriorityBody,
    ReopenBody,
    StatusBody,
    SurveyBody,
    TicketCreate,
    TicketOut,
)
from core.errors import Conflict, Forbidden, Invalid
from domain.custom_fields import Entity
from models import Department, Ticket, User
from services.custom_fields import service as custom_fields
from workflows.ticket_types import (
    AssignInput,
    CollaboratorInput,
    CommentInput,
    Contact,
    NewTicket,
    PriorityInput,
    ReopenInput,
    StatusInput,
    SurveyInput,
)

actions = APIRouter(prefix="/tickets", tags=["tickets"])

IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, min_length=1)
]


@actions.post("", status_code=status.HTTP_201_CREATED, response_model=TicketOut)
async def create_ticket(
    body: TicketCreate,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Start the ticket's workflow; answers with the persisted ticket.

    With `source` + `external_id` a repeat answers 200 with the ticket made the first time.
    """
    department_id = body.department_id or (caller.department_id if not caller.is_admin else None)
    await _check_assignment(session, caller, department_id, body.assignee_id, creating=True)
    custom = await custom_fields.checked_values(
        session, Entity.TICKET, body.custom_fields, body.category
    )
    if body.source is not None and body.external_id is not None:
        number, existing = await service.reserve_external_number(
            session, settings, body.source, body.external_id
        )
        if existing is not None:
            visible = service.scope_filter(caller)
            if visible is not None and not await session.scalar(
                select(Ticket.id).where(Ticket.id == existing.id, visible)
            ):
                raise Conflict(
                    f"{body.source} {body.external_id} is already ticket {existing.number}",
                    code="external_id_exists",
                )
            response.status_code = status.HTTP_200_OK
            return service.ticket_view(existing, caller, session=session)
    else:
        fingerprint = service.request_fingerprint(body)
        number = await service.reserve_number(
            session, settings, f"tickets:user:{caller.user_id}", idempotency_key, fingerprint
        )
    new = NewTicket(
        number=number,
        title=body.title,
        description=body.description,
        category=body.category,
        priority=body.priority,
        channel=body.channel,
        department_id=department_id,
        assignee_id=body.assignee_id,
        customer_id=body.customer_id,
        order_no=body.order_no,
        contact=Contact.model_validate(body.contact.model_dump()) if body.contact else None,
        actor=caller.actor,
        created_by=caller.user_id,
        custom_fields=custom,
    )
    result = await service.start_ticket(client, settings, new)
    ticket = await session.get(Ticket, result.ticket_id, populate_existing=True)
    assert ticket is not None
    return service.ticket_view(ticket, caller, session=session)


async def _act(
    ref: str,
    caller: Principal,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    update: str,
    arg: BaseModel,
    idempotency_key: str | None,
) -> TicketOut:
    ticket = await service.get_ticket(session, caller, ref)
    await service.run_update(client, settings, ticket, update, arg, idempotency_key)
    await session.refresh(ticket)
    return service.ticket_view(ticket, caller, session=session)


@actions.post("/{ref}/assign", response_model=TicketOut)
async def assign(
    ref: str,
    body: AssignBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Assign to a person and/or move to a department. Agents may only take tickets themselves."""
    ticket = await service.get_ticket(session, caller, ref)
    department_id = body.department_id or ticket.department_id
    await _check_assignment(session, caller, department_id, body.assignee_id, creating=False)
    arg = AssignInput(
        actor=caller.actor, assignee_id=body.assignee_id, department_id=body.department_id
    )
    return await _act(ref, caller, session, client, settings, "assign", arg, idempotency_key)


@actions.post("/{ref}/comments", response_model=TicketOut)
async def comment(
    ref: str,
    body: CommentBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Add a comment; a public staff comment is the first response."""
    arg = CommentInput(actor=caller.actor, body=body.body, public=body.public)
    return await _act(ref, caller, session, client, settings, "comment", arg, idempotency_key)


@actions.post("/{ref}/status", response_model=TicketOut)
async def set_status(
    ref: str,
    body: StatusBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Move along the status machine; 409 with the reason when the move is not allowed."""
    arg = StatusInput(actor=caller.actor, status=body.status, note=body.note)
    return await _act(ref, caller, session, client, settings, "set_status", arg, idempotency_key)


@actions.post("/{ref}/priority", response_model=TicketOut)
async def change_priority(
    ref: str,
    body: PriorityBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Change priority (reason required); deadlines are recomputed."""
    arg = PriorityInput(actor=caller.actor, priority=body.priority, reason=body.reason)
    return await _act(
        ref, caller, session, client, settings, "change_priority", arg, idempotency_key
    )


@actions.post("/{ref}/collaborators", response_model=TicketOut)
async def add_collaborator(
    ref: str,
    body: CollaboratorBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Bring in another department; its manager is notified and it sees the ticket."""
    if await session.get(Department, body.department_id) is None:
        raise Invalid("body.department_id", f"department {body.department_id} does not exist")
    arg = CollaboratorInput(actor=caller.actor, department_id=body.department_id, note=body.note)
    return await _act(
        ref, caller, session, client, settings, "add_collaborator", arg, idempotency_key
    )


@actions.post("/{ref}/reopen", response_model=TicketOut)
async def reopen(
    ref: str,
    body: ReopenBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Reopen a resolved ticket with a fresh resolution target."""
    arg = ReopenInput(actor=caller.actor, reason=body.reason)
    return await _act(ref, caller, session, client, settings, "reopen", arg, idempotency_key)


@actions.post("/{ref}/survey", response_model=TicketOut)
async def survey(
    ref: str,
    body: SurveyBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TicketOut:
    """Record the revisit answer (e.g. taken by phone): satisfied closes, unsatisfied reopens."""
    arg = SurveyInput(actor=caller.actor, rating=body.rating, comment=body.comment)
    return await _act(ref, caller, session, client, settings, "survey", arg, idempotency_key)


async def _check_assignment(
    session: SessionDep,
    caller: Principal,
    department_id: int | None,
    assignee_id: int | None,
    *,
    creating: bool,
) -> None:
    """Department exists; assignee is an active staff member of it; agents only take for self."""
    if department_id is not None and await session.get(Department, department_id) is None:
        raise Invalid("body.department_id", f"department {department_id} does not exist")
    if assignee_id is None:
        return
    if caller.role == "agent" and assignee_id != caller.user_id:
        raise Forbidden("agents may only assign tickets to themselves")
    if caller.role == "manager" and not creating and department_id != caller.department_id:
        raise Forbidden("managers assign within their own department")
    user = await session.get(User, assignee_id)
    if user is None or not user.is_active:
        raise Invalid("body.assignee_id", f"user {assignee_id} does not exist or is inactive")
    if department_id is not None and user.role != "admin" and user.department_id != department_id:
        raise Invalid(
            "body.assignee_id", f"user {assignee_id} is not in department {department_id}"
        )


# Reads (list, one ticket, timeline) live in api.tickets.reads; one router for the app.
router = APIRouter()
router.include_router(actions)
router.include_router(reads_router)
