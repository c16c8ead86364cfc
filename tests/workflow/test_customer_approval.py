"""Customer approval on the time-skipping server: daily digests, one escalation, decisions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities.approval_digest import ESCALATED, PENDING_LINK, REMINDER
from api.customers.approval import restart_approval, start_approvals
from api.customers.resubmit import resubmit
from api.deps import Principal
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


async def digests(desk: Desk, user_id: int, template: str) -> list[dict[str, Any]]:
    """The payloads of one person's approval digests, oldest first."""
    async with desk.sessions() as session:
        rows = await session.scalars(
            select(Notification)
            .where(Notification.template == template, Notification.user_id == user_id)
            .order_by(Notification.id)
        )
        return [dict(r.payload) for r in rows]


async def timeline(desk: Desk, customer_id: int) -> list[str]:
    async with desk.sessions() as session:
        rows = await session.scalars(
            select(CustomerEvent.type)
            .where(CustomerEvent.customer_id == customer_id)
            .order_by(CustomerEvent.id)
        )
        return list(rows)


async def test_manager_reminded_daily_admins_once_after_three_days_then_decided(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    customer, handle = await pending_customer(desk, staff)
    await advance(desk, handle, timedelta(days=1, minutes=1))
    assert [d["count"] for d in await digests(desk, staff.manager_id, REMINDER)] == [1]
    assert "approval_escalated" not in await timeline(desk, customer.id)

    await advance(desk, handle, timedelta(days=2))
    reminders = await digests(desk, staff.manager_id, REMINDER)
    assert len({d["day"] for d in reminders}) == len(reminders) == 3
    # Escalated on the third reminder's day: the admins hear of it, the manager not twice.
    escalated = {d["day"]: d for d in await digests(desk, staff.admin_id, ESCALATED)}
    assert escalated[reminders[-1]["day"]]["count"] >= 1
    assert await digests(desk, staff.manager_id, ESCALATED) == []
    assert (await timeline(desk, customer.id)).count("approval_escalated") == 1

    await advance(desk, handle, timedelta(days=2))
    assert len(await digests(desk, staff.manager_id, REMINDER)) == 5

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
    types = await timeline(desk, customer.id)
    assert types.count("approval_reminded") == 5
    assert types.count("approval_escalated") == 1
    assert types[-1] == "approved"
    # Today's digest now counts what is still waiting: nothing.
    assert (await digests(desk, staff.manager_id, REMINDER))[-1]["count"] == 0
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
    assert await digests(desk, staff.manager_id, REMINDER) == []
    assert "approval_reminded" not in await timeline(desk, customer.id)


async def test_a_bulk_import_is_one_digest_per_manager_and_day_with_the_count(desk: Desk) -> None:
    staff = await desk.staff()
    pending = [await pending_customer(desk, staff) for _ in range(5)]

    async def skip(by: timedelta) -> None:
        await desk.env.sleep(by)
        for _, handle in pending:
            await settle(handle)

    await skip(timedelta(days=1, minutes=1))
    first = await digests(desk, staff.manager_id, REMINDER)
    assert first == [{"count": 5, "day": first[0]["day"], "link": PENDING_LINK}]
    await skip(timedelta(days=1))
    both = await digests(desk, staff.manager_id, REMINDER)
    assert [d["count"] for d in both] == [5, 5]
    assert date.fromisoformat(both[1]["day"]) - date.fromisoformat(both[0]["day"]) == timedelta(
        days=1
    )
    await skip(timedelta(days=1))
    # All five escalate on day three: each admin hears once that day, not five times.
    day_three = (await digests(desk, staff.manager_id, REMINDER))[-1]["day"]
    escalated = [d for d in await digests(desk, staff.admin_id, ESCALATED) if d["day"] == day_three]
    assert len(escalated) == 1
    assert escalated[0]["count"] >= 5
    # Per-customer decisions are not lost: every customer's timeline has its own entries.
    for customer, _ in pending:
        types = await timeline(desk, customer.id)
        assert types.count("approval_reminded") == 3
        assert types.count("approval_escalated") == 1

    for _, handle in pending[:2]:
        decision = DecideInput(decision=Decision.APPROVE, actor=f"user:{staff.manager_id}")
        await handle.execute_update("decide", decision, result_type=ApprovalResult)
    latest = (await digests(desk, staff.manager_id, REMINDER))[-1]
    assert (latest["day"], latest["count"]) == (day_three, 3)
    for _, handle in pending[2:]:
        decision = DecideInput(
            decision=Decision.REJECT, reason="incomplete", actor=f"user:{staff.manager_id}"
        )
        await handle.execute_update("decide", decision, result_type=ApprovalResult)
    assert len(await digests(desk, staff.manager_id, REMINDER)) == 3
    assert await notices(desk, pending[0][0].id, "customer_approved") == [staff.agent_id]


async def test_a_resubmitted_customer_gets_a_fresh_run_with_its_own_reminders_and_notices(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    customer, handle = await pending_customer(desk, staff)
    reject = DecideInput(decision=Decision.REJECT, reason="no tax id", actor="user:1")
    await handle.execute_update("decide", reject, result_type=ApprovalResult)
    first_run = (await handle.describe()).run_id
    owner = Principal(user_id=staff.agent_id, role="agent", department_id=staff.department_id)
    async with desk.sessions() as session:
        row = await session.get(Customer, customer.id)
        assert row is not None
        assert await resubmit(session, owner, row, "tax id added", None)
        await restart_approval(desk.client, desk.settings, row, fresh=True)
    again = desk.client.get_workflow_handle(approval_workflow_id(customer.id))
    await settle(again)
    assert (await again.describe()).run_id != first_run

    await advance(desk, again, timedelta(days=1, minutes=1))
    types = await timeline(desk, customer.id)
    assert types[-3:] == ["rejected", "resubmitted", "approval_reminded"]
    assert [d["count"] for d in await digests(desk, staff.manager_id, REMINDER)] == [1]
    reject = DecideInput(decision=Decision.REJECT, reason="still no tax id", actor="user:1")
    result = await again.execute_update("decide", reject, result_type=ApprovalResult)
    assert result.reason == "still no tax id"
    # The owner hears of each round's decision, though both ran under one workflow id.
    assert await notices(desk, customer.id, "customer_rejected") == [staff.agent_id] * 2
