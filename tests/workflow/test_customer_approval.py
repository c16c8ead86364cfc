"""Customer approval on the time-skipping server: daily reminders, one escalation, decision."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from api.customers.approval import start_approvals
from domain.customers import Approval, Decision
from models import Customer, CustomerEvent, Notification
from tests.workflow.conftest import Desk, Staff
from workflows.customer_approval import ApprovalResult, DecideInput, approval_workflow_id

SETTLE_TIMEOUT = 20.0


async def pending_customer(
    desk: Desk, staff: Staff
) -> tuple[Customer, WorkflowHandle[object, object]]:
    """A customer entered by the agent, and its approval workflow started as the API does."""
    now = datetime.now(UTC)
    async with desk.sessions.begin() as session:
        customer = Customer(
            code=f"CUST{uuid.uuid4().hex[:12].upper()}",
            name="待审批客户",
            owner_id=staff.agent_id,
            department_id=staff.department_id,
            approval=Approval.PENDING.value,
            created_by=staff.agent_id,
            created_at=now,
            updated_at=now,
        )
        session.add(customer)
    await start_approvals(desk.client, desk.settings, [customer])
    handle = desk.client.get_workflow_handle(approval_workflow_id(customer.id))
    await settle(handle)
    return customer, handle


async def settle(handle: WorkflowHandle[object, object]) -> None:
    """Wait until the workflow has no workflow task or activity outstanding."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        assert loop.time() < deadline, "approval workflow did not settle"
        await asyncio.sleep(0.02)


async def advance(desk: Desk, handle: WorkflowHandle[object, object], by: timedelta) -> None:
    await desk.env.sleep(by)
    await settle(handle)


async def notices(desk: Desk, customer_id: int, template: str) -> list[int | None]:
    """Recipients (user ids) of the customer's notifications with `template`."""
    async with desk.sessions() as session:
        rows = await session.scalars(
            select(Notification)
            .where(
                Notification.template == template,
                Notification.payload["customer_id"].as_integer() == customer_id,
            )
            .order_by(Notification.id)
        )
        return [r.user_id for r in rows]


async def test_manager_reminded_daily_admins_once_after_three_days_then_decided(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    customer, handle = await pending_customer(desk, staff)
    await advance(desk, handle, timedelta(days=1, minutes=1))
    assert await notices(desk, customer.id, "customer_approval_reminder") == [staff.manager_id]
    assert await notices(desk, customer.id, "customer_approval_escalated") == []

    await advance(desk, handle, timedelta(days=2))
    assert len(await notices(desk, customer.id, "customer_approval_reminder")) == 3
    escalated = await notices(desk, customer.id, "customer_approval_escalated")
    assert staff.admin_id in escalated
    assert staff.manager_id not in escalated

    await advance(desk, handle, timedelta(days=2))
    assert len(await notices(desk, customer.id, "customer_approval_reminder")) == 5
    assert await notices(desk, customer.id, "customer_approval_escalated") == escalated

    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "decide",
            DecideInput(decision=Decision.REJECT, actor="user:1"),
            result_type=ApprovalResult,
        )
    result = await handle.execute_update(
        "decide",
        DecideInput(decision=Decision.APPROVE, actor=f"user:{staff.manager_id}"),
        result_type=ApprovalResult,
    )
    assert result.approval is Approval.APPROVED
    assert ApprovalResult.model_validate(await asyncio.wait_for(handle.result(), 10)) == result
    async with desk.sessions() as session:
        row = await session.get(Customer, customer.id, populate_existing=True)
        assert row is not None
        assert row.approval == "approved"
        types = list(
            await session.scalars(
                select(CustomerEvent.type)
                .where(CustomerEvent.customer_id == customer.id)
                .order_by(CustomerEvent.id)
            )
        )
    assert types.count("approval_reminded") == 5
    assert types.count("approval_escalated") == 1
    assert types[-1] == "approved"
    assert await notices(desk, customer.id, "customer_approved") == [staff.agent_id]


async def test_workflow_ends_quietly_when_nothing_is_pending_any_more(desk: Desk) -> None:
    staff = await desk.staff()
    customer, handle = await pending_customer(desk, staff)
    async with desk.sessions.begin() as session:
        # Decided by another path meanwhile: there is nothing left to approve.
        await session.execute(
            update(Customer).where(Customer.id == customer.id).values(approval="rejected")
        )
    await advance(desk, handle, timedelta(days=1, minutes=1))
    assert await asyncio.wait_for(handle.result(), 10) is None
    assert await notices(desk, customer.id, "customer_approval_reminder") == []
