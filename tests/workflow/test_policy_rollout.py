"""Publishing a tighter policy with rebind_open: a hundred open tickets move, exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from domain.sla import Priority
from domain.tickets import TicketStatus
from tests.workflow.conftest import STANDARD_BODY, Desk, Tracked, only
from tests.workflow.rollout_support import (
    add_version,
    publish,
    rebound_events,
    rollout_row,
    rollout_worker,
    tighter_body,
    wait_rollout,
)

TICKETS = 100


async def open_many(desk: Desk, category: str, department_id: int, n: int) -> list[Tracked]:
    gate = asyncio.Semaphore(8)

    async def one() -> Tracked:
        async with gate:
            return await desk.open(Priority.NORMAL, category=category, department_id=department_id)

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def test_rebind_open_moves_every_open_ticket_once_across_a_worker_restart(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    category = f"rollout-{uuid.uuid4().hex[:8]}"
    policy_id = await desk.bind_policy(category, STANDARD_BODY)
    tickets = await open_many(desk, category, staff.department_id, TICKETS)
    urgent = await desk.open(Priority.URGENT, category=category, department_id=staff.department_id)
    paused = await desk.open(Priority.NORMAL, category=category, department_id=staff.department_id)
    await paused.comment("We are on it.")
    await paused.status(TicketStatus.PROCESSING, "courier contacted")
    await paused.status(TicketStatus.AWAITING_CUSTOMER, "asked for a photo")
    # Past the urgent 2 h target (v1 breach recorded), short of the normal 4 h one.
    await urgent.advance_to(urgent.after(hours=2, minutes=30))
    assert len(await urgent.events("sla_breached")) == 1
    await add_version(desk, policy_id, 2, tighter_body())

    queue = f"rollout-{uuid.uuid4().hex[:8]}"
    published = await publish(desk, policy_id, 2, queue, staff.admin_id, page_size=10)
    rollout_id = published.rollout_id
    async with rollout_worker(desk, queue):
        await wait_rollout(desk, rollout_id, rebound_at_least=30)
    # The worker is gone mid-rollout (its page cancelled); a new one picks the rollout up.
    assert (await rollout_row(desk, rollout_id)).status == "running"
    async with rollout_worker(desk, queue):
        await wait_rollout(desk, rollout_id)

    everyone = [*tickets, urgent, paused]
    row = await rollout_row(desk, rollout_id)
    assert (row.total, row.rebound, row.failed) == (TICKETS + 2, TICKETS + 2, 0)
    assert row.finished_at is not None
    counts = await rebound_events(desk, [t.id for t in everyone])
    assert counts == {t.id: 1 for t in everyone}, "a ticket rebound twice or missed"

    for t in [*tickets[:10], urgent]:
        await t.settle()
        assert (await t.row()).policy_version == 2
        (rebound,) = await t.events("policy_rebound")
        assert rebound.data["from_version"] == 1
        assert rebound.data["to_version"] == 2
        new_due = datetime.fromisoformat(rebound.data["first_response"]["to_due_at"])
        assert new_due == t.created_at + timedelta(hours=1)
        # The tighter target is already past: it breaches at once, and only once.
        breach = only(await t.events("sla_breached"), "c0:first_response:breach")
        assert breach.seq > rebound.seq or t is urgent

    # The v1 breach of the urgent ticket stays on record; nothing was recorded again.
    assert len(await urgent.events("sla_breached")) == 1


async def test_a_paused_ticket_rebinds_with_its_pause_kept_and_new_tickets_bind_the_new_version(
    desk: Desk,
) -> None:
    staff = await desk.staff()
    category = f"rollout-{uuid.uuid4().hex[:8]}"
    policy_id = await desk.bind_policy(category, STANDARD_BODY)
    t = await desk.open(Priority.NORMAL, category=category, department_id=staff.department_id)
    await t.comment("We are on it.")
    await t.advance_to(t.after(minutes=30))
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await t.status(TicketStatus.AWAITING_CUSTOMER, "asked for a photo")
    await t.advance_to(t.after(hours=3))
    await add_version(desk, policy_id, 2, tighter_body())

    queue = f"rollout-{uuid.uuid4().hex[:8]}"
    published = await publish(desk, policy_id, 2, queue, staff.admin_id)
    async with rollout_worker(desk, queue):
        await wait_rollout(desk, published.rollout_id)
    await t.settle()
    (rebound,) = await t.events("policy_rebound")
    # Paused: no resolution due while the clock stands still.
    assert rebound.data["resolution"] == {
        "from_due_at": None,
        "to_due_at": None,
    }
    await t.comment("here is the photo", by_customer=True)
    row = await t.row()
    events = row.sla_events
    paused_at = datetime.fromisoformat(next(e["at"] for e in events if e["kind"] == "paused"))
    resumed_at = datetime.fromisoformat(next(e["at"] for e in events if e["kind"] == "resumed"))
    before_pause = paused_at - t.created_at
    sla = await t.sla(resumed_at)
    assert sla.policy_version == 2
    assert sla.resolution["due_at"] == resumed_at + timedelta(hours=8) - before_pause

    later = await desk.open(Priority.NORMAL, category=category, department_id=staff.department_id)
    assert (await later.row()).policy_version == 2
    assert await later.events("policy_rebound") == []
