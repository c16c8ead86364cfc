"""QuoteWorkflow on the time-skipping server: reminders, escalation, levels in order, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.workflow.conftest import SKEW, Desk
from tests.workflow.sales_support import (
    advance,
    new_quote,
    notices,
    quote_events,
    quote_row,
    settle,
    submit,
)
from workflows.quote_types import DecideInput, QuoteStep, QuoteView, SendInput

DAY = timedelta(days=1)


async def test_sitting_approver_is_reminded_daily_then_escalated_once(desk: Desk) -> None:
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(days=30)
    quote_id = await new_quote(desk, staff.agent_id, valid_until)
    step = QuoteStep(level=1, approver_id=staff.manager_id, escalate_to_id=staff.admin_id)
    handle = await submit(desk, quote_id, [step], valid_until)
    assert (await quote_row(desk, quote_id)).status == "pending_approval"
    assert len(await notices(desk, "quote_approval_requested", staff.manager_id)) == 1

    await advance(desk, handle, DAY + SKEW)
    types = [e.type for e in await quote_events(desk, quote_id)]
    assert types.count("approval_reminded") == 1
    assert "approval_escalated" not in types

    await advance(desk, handle, DAY)
    await advance(desk, handle, DAY)
    types = [e.type for e in await quote_events(desk, quote_id)]
    assert types.count("approval_reminded") == 3
    assert types.count("approval_escalated") == 1
    assert len(await notices(desk, "quote_approval_reminder", staff.manager_id)) == 3
    assert len(await notices(desk, "quote_approval_escalated", staff.admin_id)) == 1
    assert (await quote_row(desk, quote_id)).escalated

    # Once escalated, the escalation target may decide in the approver's place.
    view = await handle.execute_update(
        "decide",
        DecideInput(decision="approve", actor_id=staff.admin_id),
        result_type=QuoteView,
    )
    assert view.status == "approved"
    await settle(handle)
    assert (await quote_row(desk, quote_id)).status == "approved"


async def test_levels_are_asked_in_order_and_others_are_refused(desk: Desk) -> None:
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(days=30)
    quote_id = await new_quote(desk, staff.agent_id, valid_until, total="600000.00")
    steps = [
        QuoteStep(level=1, approver_id=staff.manager_id),
        QuoteStep(level=2, approver_id=staff.admin_id),
    ]
    handle = await submit(desk, quote_id, steps, valid_until)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "decide", DecideInput(decision="approve", actor_id=staff.admin_id)
        )
    assert getattr(refused.value.cause, "type", None) == "Forbidden"

    first = await handle.execute_update(
        "decide",
        DecideInput(decision="approve", reason="价格合理", actor_id=staff.manager_id),
        result_type=QuoteView,
    )
    assert (first.status, first.approval_level) == ("pending_approval", 2)
    await settle(handle)
    assert len(await notices(desk, "quote_approval_requested", staff.admin_id)) == 1
    final = await handle.execute_update(
        "decide",
        DecideInput(decision="approve", actor_id=staff.admin_id),
        result_type=QuoteView,
    )
    assert final.status == "approved"
    await settle(handle)
    decided = [e.data for e in await quote_events(desk, quote_id) if e.type == "decided"]
    assert [(d["level"], d["decided_by"], d["reason"]) for d in decided] == [
        (1, staff.manager_id, "价格合理"),
        (2, staff.admin_id, None),
    ]


async def test_a_sent_quote_nobody_answers_expires_at_valid_until(desk: Desk) -> None:
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(days=5)
    quote_id = await new_quote(desk, staff.agent_id, valid_until, total="100.00")
    handle = await submit(desk, quote_id, [], valid_until)  # no rule applies: approved
    assert (await quote_row(desk, quote_id)).status == "approved"
    await handle.execute_update("send", SendInput(actor_id=staff.agent_id), result_type=QuoteView)
    await settle(handle)
    row = await quote_row(desk, quote_id)
    assert row.status == "sent"
    assert row.sent_at is not None

    await advance(desk, handle, timedelta(days=4))
    assert (await quote_row(desk, quote_id)).status == "sent"
    await advance(desk, handle, timedelta(days=1) + SKEW)
    assert (await quote_row(desk, quote_id)).status == "expired"
    assert [e.type for e in await quote_events(desk, quote_id)][-1] == "expired"
    assert len(await notices(desk, "quote_expired", staff.agent_id)) == 1


async def test_an_undecided_quote_expires_too(desk: Desk) -> None:
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(hours=36)
    quote_id = await new_quote(desk, staff.agent_id, valid_until)
    step = QuoteStep(level=1, approver_id=staff.manager_id)
    handle = await submit(desk, quote_id, [step], valid_until)
    await advance(desk, handle, timedelta(days=2))
    assert (await quote_row(desk, quote_id)).status == "expired"
    types = [e.type for e in await quote_events(desk, quote_id)]
    assert types.count("approval_reminded") == 1


async def test_reminders_stop_at_the_cap_and_expiry_still_comes(desk: Desk) -> None:
    staff = await desk.staff()
    valid_until = await desk.now() + timedelta(days=10)
    quote_id = await new_quote(desk, staff.agent_id, valid_until)
    step = QuoteStep(level=1, approver_id=staff.manager_id)
    handle = await submit(desk, quote_id, [step], valid_until, max_reminders=3)
    await advance(desk, handle, timedelta(days=9))
    types = [e.type for e in await quote_events(desk, quote_id)]
    assert types.count("approval_reminded") == 3
    assert (await quote_row(desk, quote_id)).status == "pending_approval"
    await advance(desk, handle, timedelta(days=1) + SKEW)
    assert (await quote_row(desk, quote_id)).status == "expired"
