"""ServiceOrderWorkflow on the time-skipping server: stage reminders, overdue escalation, survey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models import ServiceOrder
from services.sales.service_orders import stages_of
from tests.workflow.conftest import SKEW, Desk
from tests.workflow.sales_support import (
    advance,
    new_service_order,
    notices,
    order_events,
    settle,
)
from workflows.service_order import service_order_workflow_id
from workflows.service_order_types import CompleteStageInput, OrderView


async def test_stage_owner_is_reminded_then_the_manager_hears_when_overdue(desk: Desk) -> None:
    staff = await desk.staff()
    order_id = await new_service_order(desk, staff.agent_id, [3, 2])
    handle = desk.client.get_workflow_handle(service_order_workflow_id(order_id))
    await settle(handle)

    await advance(desk, handle, timedelta(days=2) - SKEW)
    assert [e.type for e in await order_events(desk, order_id)] == []
    await advance(desk, handle, 2 * SKEW)
    assert [e.type for e in await order_events(desk, order_id)] == ["stage_reminder"]
    assert len(await notices(desk, "service_stage_reminder", staff.agent_id)) == 1

    await advance(desk, handle, timedelta(days=1))
    events = await order_events(desk, order_id)
    assert [e.type for e in events] == ["stage_reminder", "stage_overdue"]
    assert events[-1].data["escalated_to"] == [staff.manager_id]
    assert len(await notices(desk, "service_stage_overdue", staff.manager_id)) == 1

    async with desk.sessions() as session:
        stage = (await stages_of(session, order_id))[0]
    assert stage.reminded_at is not None
    assert stage.escalated_at is not None


async def test_stages_complete_in_order_and_the_last_sends_the_survey(desk: Desk) -> None:
    staff = await desk.staff()
    order_id = await new_service_order(desk, staff.agent_id, [3, 2])
    handle = desk.client.get_workflow_handle(service_order_workflow_id(order_id))
    await settle(handle)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "complete_stage", CompleteStageInput(index=1, note="跳过", actor_id=staff.agent_id)
        )
    done = CompleteStageInput(index=0, note="调研完成", attachment_ids=[7, 9], actor_id=1)
    view = await handle.execute_update("complete_stage", done, result_type=OrderView)
    assert view.current_stage == 1
    await settle(handle)
    async with desk.sessions() as session:
        stages = await stages_of(session, order_id)
    assert [(s.status, s.attachment_ids) for s in stages] == [
        ("done", [7, 9]),
        ("in_progress", []),
    ]
    # Stage 0 was done in time; stage 1 (due 2 days after it) is reminded and escalated.
    await advance(desk, handle, timedelta(days=5) + SKEW)
    alerts = [(e.type, e.data["index"]) for e in await order_events(desk, order_id)][1:]
    assert alerts == [("stage_reminder", 1), ("stage_overdue", 1)]

    last = CompleteStageInput(index=1, note="验收通过", actor_id=staff.agent_id)
    view = await handle.execute_update("complete_stage", last, result_type=OrderView)
    assert view.completed
    await settle(handle)
    events = await order_events(desk, order_id)
    assert events[-1].type == "survey_sent"
    assert "/public/surveys/" in events[-1].data["survey_link"]
    assert OrderView.model_validate(await handle.result()).completed
    async with desk.sessions() as session:
        order = await session.get(ServiceOrder, order_id)
        assert order is not None
        assert (order.status, order.current_stage) == ("completed", None)
