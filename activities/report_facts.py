"""Writes a ticket's report facts row in the caller's transaction (forward-only by seq)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import CalendarSpec
from domain.reports.facts import RESOLVED_STATUSES, ticket_durations
from domain.sla import PolicyVersion, SlaEvent
from models import ReportWord, Ticket, TicketReportFacts
from services.reports.keywords import extractor


def facts_row(ticket: Ticket, keywords: list[str], as_of: datetime) -> dict[str, Any]:
    """The facts row of one ticket projection, measured at `as_of` (its latest event)."""
    row: dict[str, Any] = {
        "ticket_id": ticket.id,
        "created_at": ticket.created_at,
        "department_id": ticket.department_id,
        "category": ticket.category,
        "channel": ticket.channel,
        "priority": ticket.priority,
        "status": ticket.status,
        "assignee_id": ticket.assignee_id,
        "customer_id": ticket.customer_id,
        "resolved": ticket.status in RESOLVED_STATUSES,
        "reopened": ticket.reopen_count > 0,
        "satisfaction": ticket.satisfaction,
        "keywords": keywords,
        "last_seq": ticket.last_seq,
    }
    binding = ticket.sla_binding
    if binding:
        events = [SlaEvent.model_validate(e) for e in ticket.sla_events]
        durations = ticket_durations(
            PolicyVersion.model_validate(binding["policy"]),
            CalendarSpec.model_validate(binding["calendar"]),
            events,
            ticket.created_at,
            max([as_of, *(e.at for e in events)]),
        )
        row.update(durations.model_dump())
    return row


async def keyword_extractor_for(session: AsyncSession) -> Any:
    """The extractor with the admins' dictionary rows applied."""
    words = list(await session.execute(select(ReportWord.word, ReportWord.kind)))
    return extractor(
        [w for w, kind in words if kind == "user"], [w for w, kind in words if kind == "stop"]
    )


async def write_ticket_facts(session: AsyncSession, ticket_id: int) -> None:
    """Recompute and upsert one ticket's facts; an older write never overwrites a newer one."""
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        return
    keywords = (await keyword_extractor_for(session)).keywords(ticket.title, ticket.description)
    row = facts_row(ticket, keywords, ticket.updated_at or datetime.now(UTC))
    stmt = insert(TicketReportFacts).values(row)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[TicketReportFacts.ticket_id],
            set_={k: stmt.excluded[k] for k in row if k != "ticket_id"},
            where=TicketReportFacts.last_seq <= stmt.excluded.last_seq,
        )
    )
