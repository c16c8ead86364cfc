"""Record the auto-dispatch histories (workflow patch "dispatch-v1") for the replay test.

`python -m tests.replay.record_dispatch` writes tests/replay/histories/dispatch_*.json with
the same stack and format as `tests.replay.record`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from domain.sla import Priority
from domain.tickets import TicketStatus
from models import Category, Department
from tests.replay.record import (
    HISTORIES,
    close_satisfied,
    finished_history,
    record_scenarios,
    report,
)
from tests.workflow.conftest import Desk, Tracked
from workflows.ticket_types import AssignInput


async def category_for(desk: Desk, department_id: int) -> str:
    """A category whose default department is `department_id` (no explicit rule)."""
    code = f"replay_{uuid.uuid4().hex[:8]}"
    async with desk.sessions.begin() as session:
        session.add(
            Category(code=code, name_zh="回放", name_en="Replay", department_id=department_id)
        )
    return code


async def dispatched(desk: Desk) -> Tracked:
    """unplaced and unassigned → dispatched to the department's agent → resolved → closed."""
    staff = await desk.staff()
    t = await desk.open(Priority.NORMAL, category=await category_for(desk, staff.department_id))
    await t.comment("We are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await close_satisfied(t)
    return t


async def queued(desk: Desk) -> Tracked:
    """nobody to take it → queued, manager told → assigned by hand → resolved → closed."""
    staff = await desk.staff()
    async with desk.sessions.begin() as session:
        empty = Department(code=f"empty-{uuid.uuid4().hex[:8]}", name="empty")
        session.add(empty)
        await session.flush()
        empty_id = empty.id
    t = await desk.open(Priority.URGENT, category=await category_for(desk, empty_id))
    await t.update("assign", AssignInput(actor="user:1", assignee_id=staff.agent_id))
    await t.comment("We are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await close_satisfied(t)
    return t


SCENARIOS: dict[str, Callable[[Desk], Awaitable[Tracked]]] = {
    "dispatch_assigned": dispatched,
    "dispatch_queued": queued,
}


async def record() -> list[Path]:
    return await record_scenarios(HISTORIES, SCENARIOS, finished_history)


if __name__ == "__main__":
    report(record)
