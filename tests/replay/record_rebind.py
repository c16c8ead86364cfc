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

from domain.sla import Priority
from domain.tickets import TicketStatus
from tests.replay.record import HISTORIES, record_scenarios, report
from tests.workflow.conftest import Desk, Tracked


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


BEFORE: dict[str, Callable[[Desk], Awaitable[Tracked]]] = {
    "open_before_rebind": open_before_rebind,
}


async def record_before() -> list[Path]:
    return await record_scenarios(HISTORIES, BEFORE, open_history)


if __name__ == "__main__":
    report({"before": record_before}[sys.argv[1] if len(sys.argv) > 1 else "before"])
