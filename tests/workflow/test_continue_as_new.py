"""Long-lived tickets continue as new, carrying their state, without losing updates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.tickets.service import start_ticket
from core import devstack
from core.settings import Settings
from domain.sla import Priority
from domain.tickets import Channel
from models import Ticket, TicketEvent
from tests.conftest import TEST_DATA_CONVERTER
from worker import build_worker
from workflows.search_attributes import cli_definitions
from workflows.ticket_types import CommentInput, NewTicket, StatusInput, TicketResult


@pytest.fixture(scope="module")
async def small_history_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """A dev server that suggests continue-as-new after 40 history events."""
    root: Path = tmp_path_factory.mktemp("temporal-can")
    server = devstack.TemporalProcess(
        None,
        devstack.free_port(),
        None,
        cli_definitions(),
        dynamic_config={"limit.historyCount.suggestContinueAsNew": "40"},
        log_file=root / "temporal.log",
    )
    await asyncio.to_thread(server.start)
    try:
        yield await Client.connect(server.address, data_converter=TEST_DATA_CONVERTER)
    finally:
        await asyncio.to_thread(server.stop)


async def test_ticket_continues_as_new_and_keeps_every_update(
    small_history_client: Client, engine: AsyncEngine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"temporal_task_queue": "closedloop-can"})
    number = "FBC" + uuid.uuid4().hex[:10]
    new = NewTicket(
        number=number,
        title="long-lived",
        description="a ticket with a long conversation",
        category="can-" + number,
        priority=Priority.NORMAL,
        channel=Channel.STAFF,
        actor="user:1",
    )
    async with build_worker(small_history_client, engine, settings):
        await start_ticket(small_history_client, settings, new)
        handle = small_history_client.get_workflow_handle(f"ticket-{number}")
        first_run = (await handle.describe()).run_id
        await handle.execute_update(
            "set_status",
            StatusInput(actor="user:1", status="processing", note="investigating"),
            result_type=TicketResult,
        )
        for batch in range(4):
            await asyncio.gather(
                *[
                    handle.execute_update(
                        "comment",
                        CommentInput(actor="user:1", body=f"note {batch}-{i}"),
                        result_type=TicketResult,
                    )
                    for i in range(5)
                ]
            )
        description = await handle.describe()
    assert description.run_id != first_run, "the ticket never continued as new"
    async with engine.connect() as conn:
        ticket_id = await conn.scalar(select(Ticket.id).where(Ticket.number == number))
        rows = (
            await conn.execute(
                select(TicketEvent.seq, TicketEvent.type, TicketEvent.data)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.seq)
            )
        ).all()
        status = await conn.scalar(select(Ticket.status).where(Ticket.id == ticket_id))
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    bodies = sorted(r.data["body"] for r in rows if r.type == "commented")
    assert bodies == sorted(f"note {b}-{i}" for b in range(4) for i in range(5))
    assert status == "processing"
