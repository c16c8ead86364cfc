"""Public intake: feedback from the form or mail becomes a ticket; the customer's view of it."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.intake.schemas import PublicEvent, PublicStatus
from api.tickets import service as tickets
from core.errors import Invalid
from core.settings import Settings
from core.tokens import issue_token
from domain.sla import Priority
from domain.tickets import Channel, SurveyRating, TicketStatus, format_ticket_number
from models import Category, Ticket, TicketEvent
from workflows.ticket_types import Contact, NewTicket

CUSTOMER = "customer"
TITLE_LENGTH = 60


@dataclass(frozen=True)
class Submitted:
    number: str
    token: str
    ticket_id: int


async def active_category(session: AsyncSession, code: str, field: str) -> Category:
    """The active category with this code; 422 naming `field` otherwise."""
    category = await session.scalar(select(Category).where(Category.code == code, Category.active))
    if category is None:
        raise Invalid(field, f"unknown category {code!r}")
    return category


def title_from(text: str) -> str:
    """A one-line title from free text: its first line, shortened."""
    first = next((line for line in text.splitlines() if line.strip()), text)
    line = re.sub(r"\s+", " ", first).strip()
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


async def submit(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    *,
    category: Category,
    description: str,
    channel: Channel,
    contact: Contact | None = None,
    order_no: str | None = None,
    title: str | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    custom_fields: dict[str, Any] | None = None,
) -> Submitted:
    """Number the ticket, issue its status token, then start its workflow (which dispatches)."""
    number = await tickets.reserve_number(
        session, settings, f"public:{channel.value}", idempotency_key, fingerprint
    )
    token = issue_token(session, number)
    await session.commit()
    new = NewTicket(
        number=number,
        title=title or title_from(description),
        description=description,
        category=category.code,
        priority=Priority(category.default_priority),
        channel=channel,
        contact=contact,
        order_no=order_no,
        actor=CUSTOMER,
        custom_fields=custom_fields or {},
    )
    result = await tickets.start_ticket(client, settings, new)
    return Submitted(number=number, token=token, ticket_id=result.ticket_id)


def decoy(tz: str) -> Submitted:
    """A plausible answer for a bot that filled the honeypot; nothing is stored."""
    today = datetime.now(ZoneInfo(tz)).strftime("%Y%m%d")
    number = format_ticket_number(today, 100 + secrets.randbelow(900))
    return Submitted(number=number, token=secrets.token_urlsafe(32), ticket_id=0)


def _by(actor: str) -> str:
    if actor == CUSTOMER:
        return CUSTOMER
    return "system" if actor == "system" else "staff"


def _public_event(event: TicketEvent) -> PublicEvent | None:
    """What the customer may see of one event: no internal notes, no staff identities."""
    data = event.data or {}
    shown: dict[str, object]
    if event.type == "created":
        shown = {"channel": data.get("channel")}
    elif event.type == "commented" and data.get("public"):
        shown = {"body": data.get("body")}
    elif event.type == "status_changed":
        shown = {"from": data.get("from"), "to": data.get("to")}
    elif event.type == "survey_recorded":
        shown = {"rating": data.get("rating")}
    elif event.type in {"reopened", "closed"}:
        shown = {}
    else:
        return None
    return PublicEvent(at=event.at, type=event.type, by=_by(event.actor), data=shown)


async def public_status(session: AsyncSession, ticket: Ticket) -> PublicStatus:
    events = await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq)
    )
    timeline = [shown for event in events if (shown := _public_event(event)) is not None]
    return PublicStatus(
        number=ticket.number,
        category=ticket.category,
        status=TicketStatus(ticket.status),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        satisfaction=SurveyRating(ticket.satisfaction) if ticket.satisfaction else None,
        survey_open=ticket.status == TicketStatus.RESOLVED,
        timeline=timeline,
    )
