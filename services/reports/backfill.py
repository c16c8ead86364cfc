"""Facts against raw rows: recompute what is owed or missing, and list rows that disagree."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from activities.report_facts import facts_row, keyword_extractor_for, write_ticket_facts
from models import Ticket, TicketReportFacts

_OWED = text(
    "SELECT t.id FROM tickets t LEFT JOIN ticket_report_facts f ON f.ticket_id = t.id "
    "WHERE (f.ticket_id IS NULL OR f.last_seq < t.last_seq OR f.last_seq = 0) AND t.id > :after "
    "ORDER BY t.id LIMIT :batch"
)


async def backfill(session: AsyncSession, batch: int = 500) -> int:
    """Write the facts of every ticket whose row is missing or behind; commits per batch."""
    done, after = 0, 0
    while True:
        ids = list(await session.scalars(_OWED, {"after": after, "batch": batch}))
        if not ids:
            return done
        for ticket_id in ids:
            await write_ticket_facts(session, ticket_id)
        await session.commit()
        done, after = done + len(ids), ids[-1]


def _stored(facts: TicketReportFacts, keys: Sequence[str]) -> dict[str, Any]:
    return {k: getattr(facts, k) for k in keys}


async def mismatches(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per ticket, the facts columns whose stored value differs from a recompute from raw rows."""
    extractor = await keyword_extractor_for(session)
    out: dict[int, dict[str, Any]] = {}
    for ticket_id in ticket_ids:
        ticket = await session.get(Ticket, ticket_id, populate_existing=True)
        stored = await session.scalar(
            select(TicketReportFacts)
            .where(TicketReportFacts.ticket_id == ticket_id)
            .execution_options(populate_existing=True)
        )
        if ticket is None:
            continue
        if stored is None:
            out[ticket_id] = {"missing": True}
            continue
        keywords = extractor.keywords(ticket.title, ticket.description)
        fresh = facts_row(ticket, keywords, ticket.updated_at or datetime.now(UTC))
        old = _stored(stored, list(fresh))
        diff = {k: (old[k], v) for k, v in fresh.items() if old[k] != v}
        if diff:
            out[ticket_id] = diff
    return out


async def _main() -> None:  # pragma: no cover - operator entry point
    from core.db import make_engine, make_sessionmaker
    from core.settings import get_settings

    engine = make_engine(get_settings().database_url)
    async with make_sessionmaker(engine)() as session:
        print(f"report facts written: {await backfill(session)}")  # noqa: T201
    await engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(_main())
