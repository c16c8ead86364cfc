"""Shared pieces of the rollout and simulator tests on the time-skipping server."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from sqlalchemy import func, select
from temporalio.worker import Worker

from activities.policy_rollout import RolloutActivities
from api.deps import Principal
from api.sla import rollout_service
from api.sla.admin_schemas import RolloutMode, RolloutOut
from models import PolicyRollout, SlaPolicyVersion, TicketEvent
from tests.workflow.conftest import STANDARD_BODY, Desk
from workflows.policy_rollout import PolicyRolloutWorkflow

# Real seconds a rollout of a hundred tickets may take on a busy machine.
ROLLOUT_TIMEOUT = 240.0


def tighter_body() -> dict[str, Any]:
    """STANDARD_BODY with every target much shorter."""
    body = copy.deepcopy(STANDARD_BODY)
    body["targets"] = {
        "urgent": {"first_response": "PT1H", "resolution": "PT4H"},
        "normal": {"first_response": "PT1H", "resolution": "PT8H"},
        "low": {"first_response": "PT2H", "resolution": "PT24H"},
    }
    return body


async def add_version(desk: Desk, policy_id: int, version: int, body: dict[str, Any]) -> None:
    async with desk.sessions.begin() as session:
        session.add(
            SlaPolicyVersion(policy_id=policy_id, version=version, calendar_id=1, body=body)
        )


def rollout_worker(desk: Desk, task_queue: str) -> Worker:
    """A worker for rollouts only, on its own queue, so a test can stop and restart it."""
    acts = RolloutActivities(desk.sessions, desk.client)
    return Worker(
        desk.client,
        task_queue=task_queue,
        workflows=[PolicyRolloutWorkflow],
        activities=[acts.count_rollout, acts.rebind_page, acts.finish_rollout],
        # No sticky queue: the test server never moves a task off a stopped worker's sticky
        # queue (a real server does after its schedule-to-start timeout).
        max_cached_workflows=0,
    )


async def publish(
    desk: Desk, policy_id: int, version: int, task_queue: str, admin_id: int, page_size: int = 100
) -> RolloutOut:
    async with desk.sessions() as session:
        caller = Principal(user_id=admin_id, role="admin", department_id=None)
        return await rollout_service.publish(
            session,
            desk.client,
            task_queue,
            caller,
            policy_id,
            RolloutMode.REBIND_OPEN,
            version,
            page_size,
        )


async def rollout_row(desk: Desk, rollout_id: int) -> PolicyRollout:
    async with desk.sessions() as session:
        row = await session.get(PolicyRollout, rollout_id)
        assert row is not None
        return row


async def wait_rollout(desk: Desk, rollout_id: int, *, rebound_at_least: int = -1) -> None:
    """Poll Postgres (not Temporal: awaiting a result would let the test server skip time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ROLLOUT_TIMEOUT
    while True:
        row = await rollout_row(desk, rollout_id)
        if row.status == "completed" if rebound_at_least < 0 else row.rebound >= rebound_at_least:
            return
        assert loop.time() < deadline, f"rollout {rollout_id}: {row.status}, {row.rebound}"
        await asyncio.sleep(0.1)


async def rebound_events(desk: Desk, ticket_ids: list[int]) -> dict[int, int]:
    async with desk.sessions() as session:
        found = await session.execute(
            select(TicketEvent.ticket_id, func.count())
            .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.type == "policy_rebound")
            .group_by(TicketEvent.ticket_id)
        )
        return dict(found.all())
