"""Record the histories behind the SLA rebind patch ("sla-rebind-v1") for the replay test.

`python -m tests.replay.record_rebind before` wrote `open_before_rebind.json` from the code
that had no rebind update: a ticket bound, paused and resumed, still open (its timers are
pending), as executions running when the patch ships are. `... after` writes
`rebound_open_ticket.json`: a ticket rebound by a rollout, which later code must replay.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import WorkflowHistory

from activities.sla_binding import binding_for
from domain.sla import Priority
from domain.tickets import TicketStatus
from models import SlaPolicy
from tests.replay.record import (
    HISTORIES,
    close_satisfied,
    finished_history,
    record_scenarios,
    report,
)
from tests.workflow.conftest import Desk, Tracked
from tests.workflow.rollout_support import add_version, tighter_body
from workflows.ticket_types import RebindInput


async def open_before_rebind(desk: Desk) -> Tracked:
    """urgent → answered → awaiting customer 3 h → customer replies; left open."""
    staff = await desk.staff()
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.comment("We are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await t.status(TicketStatus.AWAITING_CUSTOMER, "asked for a photo of the label")
    await t.advance_to(t.after(hours=3))
    await t.comment("here is the photo", by_customer=True)
    return t


async def open_history(t: Tracked) -> WorkflowHistory:
    """The history so far of a workflow that is still running (timers pending)."""
    await t.settle()
    return await t.handle.fetch_history()


async def rebound_open_ticket(desk: Desk) -> Tracked:
    """open under v1 → 90 min pass → rebound to a tighter v2 (breach at once) → closed."""
    staff = await desk.staff()
    t = await desk.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    policy_id = (await t.row()).policy_id
    assert policy_id is not None
    async with desk.sessions() as session:
        latest = await session.get(SlaPolicy, policy_id)
        assert latest is not None
        version = latest.current_version + 1
    await add_version(desk, policy_id, version, tighter_body())
    await t.advance_to(t.after(minutes=90))
    async with desk.sessions() as session:
        policy = await session.get(SlaPolicy, policy_id)
        assert policy is not None
        bound = await binding_for(session, policy, version, range(2026, 2029))
    rebind = RebindInput(
        actor="user:1",
        rollout_id=1,
        policy=bound.policy,
        calendar=bound.calendar,
        calendar_version=bound.calendar_version,
    )
    await t.update("rebind_policy", rebind)
    await t.comment("Sorry for the wait, we are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await close_satisfied(t)
    return t


AFTER: dict[str, Callable[[Desk], Awaitable[Tracked]]] = {
    "rebound_open_ticket": rebound_open_ticket,
}


async def record_after() -> list[Path]:
    return await record_scenarios(HISTORIES, AFTER, finished_history)


BEFORE: dict[str, Callable[[Desk], Awaitable[Tracked]]] = {
    "open_before_rebind": open_before_rebind,
}


async def record_before() -> list[Path]:
    return await record_scenarios(HISTORIES, BEFORE, open_history)


if __name__ == "__main__":
    recorders = {"before": record_before, "after": record_after}
    report(recorders[sys.argv[1] if len(sys.argv) > 1 else "after"])
