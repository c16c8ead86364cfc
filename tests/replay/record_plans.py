"""Record follow-up plan, customer approval and segment histories for the replay test.

`python -m tests.replay.record_plans` writes tests/replay/histories/plans/<name>.json with the
same stack, neutral identity and format as `tests.replay.record`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from temporalio.client import WorkflowHandle, WorkflowHistory

from domain.cadence import PlanChannel
from domain.customers import Decision
from models import Customer
from tests.replay.record import HISTORIES, record_scenarios, report
from tests.workflow.conftest import Desk
from tests.workflow.test_customer_approval import advance, pending_customer
from tests.workflow.test_followup_plan import Desk as PlanDesk
from workflows.customer_approval import ApprovalResult, DecideInput
from workflows.followup_types import SegmentRun, SegmentRunResult, UpgradeAvailable
from workflows.segments import SegmentRecomputeWorkflow

PLAN_HISTORIES = HISTORIES / "plans"
RESULT_TIMEOUT = 30.0


def plan_desk(desk: Desk) -> PlanDesk:
    """The follow-up test driver over the same server, worker and database."""
    return PlanDesk(desk.env, desk.sessions.kw["bind"], desk.settings)


async def finished(handle: WorkflowHandle[Any, Any]) -> WorkflowHistory:
    await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT)
    return await handle.fetch_history()


# --- follow-up plans -------------------------------------------------------------------


async def plan_due_reminder(desk: Desk) -> WorkflowHandle[Any, Any]:
    """Monthly plan comes due: the owner is reminded once; then cancelled."""
    plans = plan_desk(desk)
    people = await plans.people()
    plan = await plans.start(people, await plans.customer(people, tier="core"))
    await plan.advance_to(plan.created_at + timedelta(days=32))
    await plan.update("cancel", "customer lost")
    return plan.handle


async def plan_signals(desk: Desk) -> WorkflowHandle[Any, Any]:
    """Interaction logged, upgrades pushed (monthly cap), new segment; then cancelled."""
    plans = plan_desk(desk)
    people = await plans.people()
    customer_id = await plans.customer(people, tier="ordinary", tags=["ERP"])
    plan = await plans.start(people, customer_id, channels=[PlanChannel.WECHAT])
    touch_at = plan.created_at + timedelta(days=2)
    await plan.advance_to(touch_at)
    await plan.signal("interaction_logged", {"at": touch_at.isoformat()})
    for product in ("v5", "v6", "v7"):
        await plan.signal("upgrade_available", UpgradeAvailable(tag="ERP", product=product))
    await plan.signal("cadence_changed", {"segment": "high_value"})
    await plan.update("cancel", "customer lost")
    return plan.handle


async def plan_pause_escalate(desk: Desk) -> WorkflowHandle[Any, Any]:
    """Paused past its due, resumed (reminder), overdue → manager escalation; cancelled."""
    plans = plan_desk(desk)
    people = await plans.people()
    plan = await plans.start(people, await plans.customer(people), cadence="P5D")
    await plan.update("pause", "customer on holiday")
    await plan.advance_to(plan.created_at + timedelta(days=9))
    await plan.update("resume")
    now = await plans.env.get_current_time()
    await plan.advance_to(now + timedelta(days=3, hours=1))
    await plan.update("cancel", "customer lost")
    return plan.handle


# --- customer approval -----------------------------------------------------------------


async def approval_escalated_then_approved(desk: Desk) -> WorkflowHandle[Any, Any]:
    """Three daily reminders, the third escalates to admins as well; then approved."""
    staff = await desk.staff()
    _, handle = await pending_customer(desk, staff)
    await advance(desk, handle, timedelta(days=3, minutes=1))
    await handle.execute_update(
        "decide",
        DecideInput(decision=Decision.APPROVE, actor=f"user:{staff.manager_id}"),
        result_type=ApprovalResult,
    )
    return handle


async def approval_rejected(desk: Desk) -> WorkflowHandle[Any, Any]:
    """Rejected with a reason on the first day, before any reminder."""
    staff = await desk.staff()
    _, handle = await pending_customer(desk, staff)
    await handle.execute_update(
        "decide",
        DecideInput(decision=Decision.REJECT, reason="duplicate", actor=f"user:{staff.manager_id}"),
        result_type=ApprovalResult,
    )
    return handle


async def approval_ends_quietly(desk: Desk) -> WorkflowHandle[Any, Any]:
    """Decided elsewhere meanwhile: the first reminder finds nothing pending and ends."""
    staff = await desk.staff()
    customer, handle = await pending_customer(desk, staff)
    async with desk.sessions.begin() as session:
        await session.execute(
            update(Customer).where(Customer.id == customer.id).values(approval="rejected")
        )
    await advance(desk, handle, timedelta(days=1, minutes=1))
    return handle


# --- segment recomputation -------------------------------------------------------------


async def run_segments(desk: Desk, run: SegmentRun) -> WorkflowHandle[Any, Any]:
    return await desk.client.start_workflow(
        SegmentRecomputeWorkflow.run,
        run,
        id=f"segment-recompute-replay-{uuid.uuid4().hex[:8]}",
        task_queue=desk.settings.temporal_task_queue,
        result_type=SegmentRunResult,
    )


async def segments_move_a_plan(desk: Desk) -> WorkflowHandle[Any, Any]:
    """A silent customer turns dormant and its plan is signalled (as_of from the workflow)."""
    plans = plan_desk(desk)
    people = await plans.people()
    customer_id = await plans.customer(people, tier="potential")
    plan = await plans.start(people, customer_id)
    async with plans.sessions.begin() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=200), segment="potential")
        )
    handle = await run_segments(desk, SegmentRun(customer_ids=[customer_id]))
    result = await asyncio.wait_for(handle.result(), timeout=RESULT_TIMEOUT)
    assert result.plans_signalled == 1, result
    await plan.settle()
    await plan.update("cancel", "customer lost")
    return handle


async def segments_nothing_to_do(desk: Desk) -> WorkflowHandle[Any, Any]:
    """An explicit as_of over no customers: one activity, nothing changed."""
    as_of = await desk.env.get_current_time()
    return await run_segments(desk, SegmentRun(as_of=as_of, customer_ids=[]))


# Segment runs first: later scenarios skip the server clock months ahead.
SCENARIOS: dict[str, Callable[[Desk], Awaitable[WorkflowHandle[Any, Any]]]] = {
    "segments_move_a_plan": segments_move_a_plan,
    "segments_nothing_to_do": segments_nothing_to_do,
    "approval_rejected": approval_rejected,
    "approval_escalated_then_approved": approval_escalated_then_approved,
    "approval_ends_quietly": approval_ends_quietly,
    "plan_signals": plan_signals,
    "plan_due_reminder": plan_due_reminder,
    "plan_pause_escalate": plan_pause_escalate,
}


async def record() -> list[Path]:
    return await record_scenarios(PLAN_HISTORIES, SCENARIOS, finished)


if __name__ == "__main__":
    report(record)
