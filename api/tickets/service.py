"""Ticket services: numbering, idempotent creation, scoping, workflow updates, views."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import and_, any_, false, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import Principal
from api.tickets.schemas import SlaOut, TicketOut
from core import pii
from core.errors import Conflict, Invalid, NotFound, Unavailable
from core.settings import Settings
from core.temporal import start_until_created
from domain.calendar import CalendarSpec
from domain.masking import mask_email, mask_phone
from domain.sla import PolicyVersion, SlaEvent
from domain.sla_view import sla_summary
from domain.tickets import format_ticket_number
from models import ExternalRef, IdempotencyKey, Ticket, TicketCounter
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import NewTicket, TicketResult, TicketWorkflowInput


def request_fingerprint(body: BaseModel) -> str:
    """A stable hash of a request body, to tell an honest retry from key reuse."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def allocate_number(session: AsyncSession, tz: str) -> str:
    """Next FByyyymmddNNN for today's local date; atomic under concurrency."""
    today = datetime.now(ZoneInfo(tz)).date()
    sequence = await session.scalar(
        insert(TicketCounter)
        .values(day=today, last=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.day], set_={"last": TicketCounter.last + 1}
        )
        .returning(TicketCounter.last)
    )
    assert sequence is not None
    return format_ticket_number(today.strftime("%Y%m%d"), sequence)


async def reserve_number(
    session: AsyncSession, settings: Settings, scope: str, key: str | None, fingerprint: str
) -> str:
    """The ticket number for this request: the first one if the key was seen before."""
    try:
        number = await _number_for_key(session, settings, scope, key, fingerprint)
        await session.commit()
        return number
    except BaseException:
        await session.rollback()
        raise


async def _number_for_key(
    session: AsyncSession, settings: Settings, scope: str, key: str | None, fingerprint: str
) -> str:
    if key is None:
        return await allocate_number(session, settings.timezone)
    existing = await session.get(IdempotencyKey, (scope, key))
    if existing is None:
        number = await allocate_number(session, settings.timezone)
        inserted = await session.scalar(
            insert(IdempotencyKey)
            .values(scope=scope, key=key, request_hash=fingerprint, resource=number)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.resource)
        )
        if inserted is not None:
            return number
        # A concurrent request with the same key won the race: answer with its ticket.
        await session.rollback()
        existing = await session.get(IdempotencyKey, (scope, key), populate_existing=True)
        assert existing is not None
    if existing.request_hash != fingerprint:
        raise Conflict(
            "Idempotency-Key was already used with a different body",
            code="idempotency_key_reused",
        )
    return existing.resource


async def reserve_external_number(
    session: AsyncSession, settings: Settings, source: str, external_id: str
) -> tuple[str, Ticket | None]:
    """The number for an outside conversation, and its ticket if one was already made."""
    try:
        number = await allocate_number(session, settings.timezone)
        inserted = await session.scalar(
            insert(ExternalRef)
            .values(source=source, external_id=external_id, ticket_number=number)
            .on_conflict_do_nothing()
            .returning(ExternalRef.ticket_number)
        )
        if inserted is not None:
            await session.commit()
            return number, None
        await session.rollback()
        known = await session.scalar(
            select(ExternalRef.ticket_number).where(
                ExternalRef.source == source, ExternalRef.external_id == external_id
            )
        )
        assert known is not None
        return known, await session.scalar(select(Ticket).where(Ticket.number == known))
    except BaseException:
        await session.rollback()
        raise


def refuse_nul(model: BaseModel) -> None:
    """Postgres text cannot hold NUL: refuse it before a workflow activity retries forever."""
    bad: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str) and "\x00" in value:
            bad.append(f"body.{path}")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}.{i}")

    walk(model.model_dump(), "")
    if bad:
        message = "text must not contain NUL (\\u0000) characters"
        error = Invalid(bad[0], message)
        error.details = {"errors": [{"field": field, "message": message} for field in bad]}
        raise error


async def start_ticket(client: Client, settings: Settings, new: NewTicket) -> TicketResult:
    """Update-with-start: returns once the workflow has persisted the ticket."""
    refuse_nul(new)
    return await start_until_created(
        client,
        settings,
        TicketWorkflow.run,
        TicketWorkflowInput(new=new),
        workflow_id=f"ticket-{new.number}",
        result_type=TicketResult,
        what="ticket",
    )


async def run_update(
    client: Client,
    settings: Settings,
    ticket: Ticket,
    update: str,
    arg: BaseModel,
    idempotency_key: str | None,
) -> TicketResult:
    """Execute a workflow update, mapping rejections to 409/422 and closed tickets to 409."""
    refuse_nul(arg)
    handle = client.get_workflow_handle(ticket.workflow_id)
    try:
        return await asyncio.wait_for(
            handle.execute_update(update, arg, id=idempotency_key, result_type=TicketResult),
            timeout=settings.update_timeout_seconds,
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == "Invalid":
            field = cause.details[0]["field"] if cause.details else "body"
            raise Invalid(f"body.{field}", cause.message) from exc
        message = cause.message if isinstance(cause, ApplicationError) else str(exc)
        raise Conflict(message, code="transition_not_allowed") from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(
                f"ticket {ticket.number} is {ticket.status}; it takes no more changes",
                code="ticket_closed",
            ) from exc
        raise Unavailable("the workflow service is unavailable; retry") from exc
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise Unavailable("the ticket workflow did not answer in time; retry") from exc


def scope_filter(principal: Principal) -> ColumnElement[bool] | None:
    """Tickets the caller may see: admins all, managers their department, agents their own."""
    if principal.is_admin:
        return None
    dept = principal.department_id
    collaborating = (
        any_(Ticket.collaborator_department_ids) == dept if dept is not None else false()
    )
    if principal.role == "manager":
        return or_(Ticket.department_id == dept, collaborating)
    unassigned_here = (
        and_(Ticket.assignee_id.is_(None), Ticket.department_id == dept)
        if dept is not None
        else false()
    )
    return or_(Ticket.assignee_id == principal.user_id, unassigned_here, collaborating)


async def get_ticket(session: AsyncSession, principal: Principal, ref: str) -> Ticket:
    """By id or number, within the caller's scope; 404 otherwise."""
    query = select(Ticket)
    if ref.isascii() and ref.isdigit() and len(ref) < 19:  # "²".isdigit() too
        query = query.where(Ticket.id == int(ref))
    else:
        query = query.where(Ticket.number == ref.upper())
    condition = scope_filter(principal)
    if condition is not None:
        query = query.where(condition)
    ticket = await session.scalar(query)
    if ticket is None:
        raise NotFound(f"ticket {ref} not found")
    return ticket


def contact_reason(principal: Principal, ticket: Ticket) -> str | None:
    """Why the caller may see the ticket's contact in clear text; None: masked."""
    if principal.is_admin:
        return "admin"
    if principal.role == "manager" and principal.department_id == ticket.department_id:
        return "department_manager"
    if ticket.assignee_id == principal.user_id:
        return "assignee"
    return None


def may_see_contact(principal: Principal, ticket: Ticket) -> bool:
    """Clear-text contact for admins, the department's managers and the assignee."""
    return contact_reason(principal, ticket) is not None


def ticket_view(
    ticket: Ticket,
    principal: Principal,
    now: datetime | None = None,
    *,
    session: AsyncSession | None,
) -> TicketOut:
    """The API shape; SLA recomputed by the workflow's own clock from the bound inputs.

    The contact is unsealed, phone and email masked unless the caller may see them; a
    clear-text read is recorded in the PII access log of `session`'s transaction.
    """
    contact = pii.unseal_contact(ticket.contact)
    reason = contact_reason(principal, ticket)
    if contact and not reason:
        if contact.get("phone"):
            contact["phone"] = mask_phone(contact["phone"])
        if contact.get("email"):
            contact["email"] = mask_email(contact["email"])
    elif contact and reason and session is not None:
        shown = [f for f in pii.CONTACT_FIELDS if contact.get(f)]
        pii.record_access(session, principal.user_id, "ticket", ticket.id, shown, reason)
    sla = None
    if ticket.sla_binding:
        events = [SlaEvent.model_validate(e) for e in ticket.sla_events]
        # The worker's clock may run ahead of ours: never read the SLA before its last event.
        at = max([now or datetime.now(UTC), *(e.at for e in events)])
        summary = sla_summary(
            PolicyVersion.model_validate(ticket.sla_binding["policy"]),
            CalendarSpec.model_validate(ticket.sla_binding["calendar"]),
            events,
            at,
        )
        sla = SlaOut.model_validate(summary.model_dump())
    return TicketOut(
        id=ticket.id,
        number=ticket.number,
        title=ticket.title,
        description=ticket.description,
        category=ticket.category,
        priority=ticket.priority,
        status=ticket.status,
        channel=ticket.channel,
        department_id=ticket.department_id,
        assignee_id=ticket.assignee_id,
        customer_id=ticket.customer_id,
        order_no=ticket.order_no,
        contact=contact,
        collaborator_department_ids=list(ticket.collaborator_department_ids or []),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        first_response_at=ticket.first_response_at,
        reopen_count=ticket.reopen_count,
        escalation_level=ticket.escalation_level,
        sla=sla,
        satisfaction=ticket.satisfaction,
        workflow_id=ticket.workflow_id,
        custom_fields=dict(ticket.custom_fields or {}),
    )
