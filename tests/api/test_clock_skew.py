"""A worker whose clock runs ahead of the API's: the ticket still reads, SLA not yet started."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_sessionmaker
from models import Ticket
from tests.conftest import Org


async def test_a_ticket_whose_sla_starts_after_the_api_clock_reads_with_its_full_target(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    category = f"skew-{uuid.uuid4().hex[:8]}"
    body = {
        "title": "Parcel never arrived",
        "description": "Tracking says delivered; the customer has nothing.",
        "category": category,
        "priority": "urgent",
        "channel": "staff",
        "department_id": org.department_id,
    }
    created = await http.post("/api/v1/tickets", json=body, headers=org.manager.headers)
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    # Recorded by a worker whose clock is a day ahead (as the time-skipping test server does).
    async with make_sessionmaker(engine).begin() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        shifted = [
            {**e, "at": (datetime.fromisoformat(e["at"]) + timedelta(days=1)).isoformat()}
            for e in ticket.sla_events
        ]
        await session.execute(
            update(Ticket).where(Ticket.id == ticket_id).values(sla_events=shifted)
        )

    one = await http.get(f"/api/v1/tickets/{ticket_id}", headers=org.manager.headers)
    listed = await http.get(
        "/api/v1/tickets", params={"category": category}, headers=org.manager.headers
    )
    assert one.status_code == listed.status_code == 200, (one.text, listed.text)
    assert [t["id"] for t in listed.json()["items"]] == [ticket_id]
    sla = one.json()["sla"]
    assert not sla["first_response"]["breached"]
    assert not sla["resolution"]["breached"]
    # The seeded policy gives urgent tickets two hours to a first response, none of it used.
    assert sla["first_response"]["remaining_seconds"] == 2 * 3600
