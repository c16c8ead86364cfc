"""Record QuoteWorkflow and ServiceOrderWorkflow histories: `python -m tests.replay.record_sales`.

Writes tests/replay/histories/sales/<name>.json from the committed code (see record.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory

from tests.replay.record import HISTORIES, record_scenarios, report
from tests.workflow.conftest import SKEW, Desk
from tests.workflow.sales_support import advance, new_quote, new_service_order, settle, submit
from workflows.quote_types import DecideInput, QuoteStep, RespondInput, SendInput
from workflows.service_order import service_order_workflow_id
from workflows.service_order_types import CompleteStageInput

SALES_HISTORIES = HISTORIES / "sales"
Handle = WorkflowHandle[Any, Any]


async def _update(handle: Handle, name: str, arg: Any) -> None:
    await handle.execute_update(name, arg)
    await settle(handle)


async def quote_escalated_approved_accepted(desk: Desk) -> Handle:
    """Two levels; the first approver sits on it (reminded, escalated); sent; accepted."""
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(days=30)
    quote_id = await new_quote(desk, staff.agent_id, valid_until)
    steps = [
        QuoteStep(level=1, approver_id=staff.manager_id, escalate_to_id=staff.admin_id),
        QuoteStep(level=2, approver_id=staff.admin_id),
    ]
    handle = await submit(desk, quote_id, steps, valid_until)
    await advance(desk, handle, timedelta(days=2) + SKEW)
    await _update(handle, "decide", DecideInput(decision="approve", actor_id=staff.manager_id))
    await _update(handle, "decide", DecideInput(decision="approve", actor_id=staff.admin_id))
    await _update(handle, "send", SendInput(actor_id=staff.agent_id))
    await _update(handle, "respond", RespondInput(response="accept", comment="ok"))
    return handle


async def quote_rejected(desk: Desk) -> Handle:
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(days=30)
    quote_id = await new_quote(desk, staff.agent_id, valid_until)
    handle = await submit(
        desk, quote_id, [QuoteStep(level=1, approver_id=staff.manager_id)], valid_until
    )
    decision = DecideInput(decision="reject", reason="折扣过高", actor_id=staff.manager_id)
    await _update(handle, "decide", decision)
    return handle


async def quote_sent_then_expired(desk: Desk) -> Handle:
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(days=3)
    quote_id = await new_quote(desk, staff.agent_id, valid_until, total="10.00")
    handle = await submit(desk, quote_id, [], valid_until)
    await _update(handle, "send", SendInput(actor_id=staff.agent_id))
    await advance(desk, handle, timedelta(days=3) + SKEW)
    return handle


async def service_order_overdue_then_completed(desk: Desk) -> Handle:
    staff = await desk.staff()
    order_id = await new_service_order(desk, staff.agent_id, [2, 2])
    handle = desk.client.get_workflow_handle(service_order_workflow_id(order_id))
    await settle(handle)
    await advance(desk, handle, timedelta(days=2) + SKEW)
    for index in (0, 1):
        done = CompleteStageInput(index=index, note=f"阶段{index}完成", actor_id=staff.agent_id)
        await _update(handle, "complete_stage", done)
    return handle


SCENARIOS: dict[str, Callable[[Desk], Awaitable[Handle]]] = {
    "quote_escalated_approved_accepted": quote_escalated_approved_accepted,
    "quote_rejected": quote_rejected,
    "quote_sent_then_expired": quote_sent_then_expired,
    "service_order_overdue_then_completed": service_order_overdue_then_completed,
}


async def finished(handle: Handle) -> WorkflowHistory:
    await asyncio.wait_for(handle.result(), timeout=30)
    return await handle.fetch_history()


async def record() -> list[Path]:
    return await record_scenarios(SALES_HISTORIES, SCENARIOS, finished)


if __name__ == "__main__":
    report(record)
