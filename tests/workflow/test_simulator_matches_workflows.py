"""The simulator's answer equals what ticket workflows do when rebound to the candidate."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from api.deps import Principal
from api.sla import simulator
from api.sla.admin_schemas import SimulateBody
from domain.sla import Priority
from domain.tickets import TicketStatus
from tests.workflow.conftest import STANDARD_BODY, Desk, Tracked
from tests.workflow.rollout_support import (
    add_version,
    publish,
    rollout_worker,
    tighter_body,
    wait_rollout,
)

TARGETS = ("first_response", "resolution")


async def workflow_outcome(t: Tracked, target: str) -> tuple[datetime | None, bool]:
    """The due time the workflow computed on rebinding, and whether it recorded a breach."""
    (rebound,) = await t.events("policy_rebound")
    due = rebound.data[target]["to_due_at"]
    breaches = [e for e in await t.events("sla_breached") if e.key == f"c0:{target}:breach"]
    assert len(breaches) <= 1
    return (datetime.fromisoformat(due) if due else None), bool(breaches)


async def test_simulated_candidate_equals_the_rebound_workflows(desk: Desk) -> None:
    staff = await desk.staff()
    category = f"sim-{uuid.uuid4().hex[:8]}"
    policy_id = await desk.bind_policy(category, STANDARD_BODY)
    start = await desk.now()

    async def open_(priority: Priority) -> Tracked:
        return await desk.open(priority, category=category, department_id=staff.department_id)

    untouched = await open_(Priority.NORMAL)
    answered_fast = await open_(Priority.NORMAL)
    answered_late = await open_(Priority.NORMAL)
    urgent = await open_(Priority.URGENT)
    paused = await open_(Priority.NORMAL)
    resolved_late = await open_(Priority.LOW)
    tickets = [untouched, answered_fast, answered_late, urgent, paused, resolved_late]
    await paused.comment("We are on it.")
    await answered_fast.advance_to(answered_fast.after(minutes=30))
    await answered_fast.comment("We are on it.")
    await paused.advance_to(paused.after(hours=1))
    await paused.status(TicketStatus.PROCESSING, "courier contacted")
    await paused.status(TicketStatus.AWAITING_CUSTOMER, "asked for a photo")
    await answered_late.advance_to(answered_late.after(hours=2))
    await answered_late.comment("We are on it.")
    await resolved_late.advance_to(resolved_late.after(hours=3))
    await resolved_late.resolve()

    now = await desk.now()
    before = {
        (t.id, target): (await t.sla(now)).model_dump()[target]
        for t in tickets
        for target in TARGETS
    }
    body = SimulateBody.model_validate(
        {
            "policy": {"name": "candidate", "calendar_id": 1, **tighter_body()},
            "since": start - timedelta(minutes=1),
            "until": now + timedelta(minutes=1),
            "category": category,
        }
    )
    admin = Principal(user_id=staff.admin_id, role="admin", department_id=None)
    async with desk.sessions() as session:
        answer = await simulator.simulate(session, body, admin, now)

    await add_version(desk, policy_id, 2, tighter_body())
    queue = f"sim-{uuid.uuid4().hex[:8]}"
    published = await publish(desk, policy_id, 2, queue, staff.admin_id)
    async with rollout_worker(desk, queue):
        await wait_rollout(desk, published.rollout_id)
    for t in tickets:
        await t.settle()

    assert answer.evaluated == len(tickets)
    after = {
        (t.id, target): await workflow_outcome(t, target) for t in tickets for target in TARGETS
    }
    for target in TARGETS:
        assert answer.summary[target] == {
            "breached_now": sum(before[t.id, target]["breached"] for t in tickets),
            "breached_candidate": sum(after[t.id, target][1] for t in tickets),
        }
    changed = {(c.id, c.target): c for c in answer.changed}
    flipped = {key for key in after if after[key][1] != before[key]["breached"]}
    assert set(changed) == flipped
    assert flipped == {
        (untouched.id, "first_response"),
        (answered_late.id, "first_response"),
        (resolved_late.id, "first_response"),
    }
    for key, c in changed.items():
        assert (c.candidate.due_at, c.candidate.breached) == after[key]
        assert (c.now.due_at, c.now.breached) == (before[key]["due_at"], before[key]["breached"])
    assert answer.by_priority["urgent"]["first_response"] == {
        "breached_now": 1,
        "breached_candidate": 1,
    }
