"""Report facts kept by the ticket activities never disagree with a recompute from raw rows."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_sessionmaker
from models import TicketReportFacts
from services.reports.backfill import backfill, mismatches
from tests.api.test_tickets_slice import create
from tests.conftest import Org


async def test_facts_follow_a_ticket_through_its_workflow_and_match_raw_rows(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    ticket = await create(http, org, title="打印机卡纸", description="每天早上打印机卡纸")
    base = f"/api/v1/tickets/{ticket['id']}"
    h = org.manager.headers
    steps = [
        ("comments", {"body": "正在处理", "public": True}),
        ("status", {"status": "processing", "note": "更换搓纸轮"}),
        ("status", {"status": "awaiting_customer", "note": "等待客户确认"}),
        ("status", {"status": "processing", "note": "客户回复仍卡纸"}),
        ("status", {"status": "resolved"}),
    ]
    for path, body in steps:
        moved = await http.post(f"{base}/{path}", json=body, headers=h)
        assert moved.status_code == 200, moved.text
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        facts = await session.get(TicketReportFacts, ticket["id"])
        assert facts is not None
        assert (facts.status, facts.resolved, facts.category) == (
            "resolved",
            True,
            ticket["category"],
        )
        assert facts.first_response_business_s is not None
        assert facts.resolution_calendar_s is not None
        assert "打印机" in facts.keywords
        assert await mismatches(session, [ticket["id"]]) == {}


async def test_backfill_restores_missing_rows_from_raw(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    ticket = await create(http, org)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        before = await session.scalar(
            select(TicketReportFacts).where(TicketReportFacts.ticket_id == ticket["id"])
        )
        assert before is not None
        await session.execute(
            delete(TicketReportFacts).where(TicketReportFacts.ticket_id == ticket["id"])
        )
        await session.commit()
        assert await mismatches(session, [ticket["id"]]) == {ticket["id"]: {"missing": True}}
        assert await backfill(session) >= 1
        assert await mismatches(session, [ticket["id"]]) == {}
