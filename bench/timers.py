"""Timer precision at scale: N open tickets breach inside one quiet 60 s window; how late?

`python -m bench.timers`. Every ticket is opened BEFORE the window starts, so the window holds
only the breaches. Tickets are opened by update-with-start (no HTTP) in batches on a policy
scoped to a fresh category; before each batch a new policy version is saved (PUT, as an admin
would) whose first-response target puts that batch's breaches at its slot in the window
(target = window start + slot - now; the slots advance with the share of tickets opened). New
tickets bind to the newest version, so opening may take minutes while every breach still lands
in the window. Warnings are set a hair before the breach, so they go out with it (one workflow
task; the count that did not is reported) and nothing fires while tickets are being opened;
each breach also escalates (same step, same commit). The warm-up rate plans the window start;
if opening runs late it stops before the window and reports how many it opened.

After the window the `sla_breached` and `escalated` events are read back from Postgres and each
event's `at` is compared with the `due_at` it carries. A sample of workflow histories splits the
lateness into the server's timer (TimerFired vs due) and the worker's queue (workflow task
schedule-to-start), and gives the activity schedule-to-start of the persisting activity.
Reference points: Zendesk automations run hourly, Odoo/OCA SLA crons every 5 minutes.
Writes bench/results/timers.json.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType

from bench.common import (
    Stack,
    admin_user_id,
    load_average,
    open_tickets_direct,
    percentile,
    run_alone,
    ticket_number,
    unique_label,
)

WINDOW_SECONDS = 60.0
BATCH = 32  # two waves of the opening lanes
CONCURRENCY = 16
LEAD_SECONDS = 12.0  # planned quiet gap between the last ticket opened and the window start
MIN_LEAD_SECONDS = 6.0  # closer than this to the window, opening stops (reported)
PLAN_FACTOR = 1.2  # opening is planned this much slower than the warm-up rate (load varies)
# Warnings fire a hair (target x 1e-5: 1-20 ms) before their breach, so the timer that fires a
# warning almost always finds the breach due too and both go out in one workflow task: nothing
# fires while tickets are opened, and the window holds one firing per ticket.
WARN_AT = 0.99999
GRACE_SECONDS = 60
HISTORY_SAMPLE = 40

_FIRED = text(
    """
    SELECT e.type, t.workflow_id, e.at, e.data->>'due_at' AS due_at
    FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
    WHERE t.category = :category AND e.type IN ('sla_warning', 'sla_breached', 'escalated')
    """
)
_COUNT = text(
    """
    SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
    WHERE t.category = :category AND e.type = :type
    """
)


def policy(category: str, target: timedelta) -> dict[str, Any]:
    """First response due `target` after creation for every priority; nothing else comes due."""
    first = f"PT{target.total_seconds():.3f}S"
    targets = {p: {"first_response": first, "resolution": "P30D"} for p in ("urgent", "normal")}
    targets["low"] = {"first_response": first, "resolution": "P30D"}
    return {
        "name": category,
        "targets": targets,
        "warn_at": WARN_AT,
        "escalation": [{"notify": "role:admin"}],
        "tracking": {"urgent": "P30D", "normal": "P30D", "low": "P30D"},
        "scope": {"categories": [category]},
    }


def _ms(values: list[float], pct: float) -> float | None:
    return round(percentile(values, pct) * 1000, 1) if values else None


def lateness(seconds: list[float]) -> dict[str, Any]:
    return {
        "fired": len(seconds),
        "early": sum(1 for s in seconds if s < 0),
        "p50_ms": _ms(seconds, 50),
        "p99_ms": _ms(seconds, 99),
        "max_ms": round(max(seconds) * 1000, 1) if seconds else None,
    }


Fired = dict[str, list[tuple[str, datetime, datetime]]]


async def fired_events(stack: Stack, category: str) -> Fired:
    """(workflow id, fired at, due at) of each breach and escalation event of the category."""
    async with stack.engine.connect() as conn:
        rows = (await conn.execute(_FIRED, {"category": category})).all()
    out: Fired = {"sla_warning": [], "sla_breached": [], "escalated": []}
    for kind, workflow_id, at, due in rows:
        out[kind].append((workflow_id, at, datetime.fromisoformat(due)))
    return out


async def event_count(stack: Stack, category: str, kind: str) -> int:
    async with stack.engine.connect() as conn:
        found = await conn.execute(_COUNT, {"category": category, "type": kind})
        return int(found.scalar_one())


def _at(event: Any) -> datetime:
    stamp: datetime = event.event_time.ToDatetime(UTC)
    return stamp


def _next(events: list[Any], kind: int) -> Any:
    return next((e for e in events if e.event_type == kind), None)


async def history_split(
    stack: Stack, workflow_ids: list[str], due: dict[str, datetime]
) -> dict[str, Any]:
    """From sampled histories, where a breach's lateness comes from (seconds, per ticket).

    timer_started_after_due: the timer's own target (TimerStarted + its duration) minus the
    due time, i.e. how long the workflow task that aimed it took to complete; server_timer_delay:
    TimerFired minus that target; then the wait of the workflow task that handled the firing
    (its schedule-to-start, the worker's workflow backlog) and of the persisting activity.
    """
    spans: dict[str, list[float]] = {
        "timer_started_after_due": [],
        "server_timer_delay": [],
        "workflow_task_schedule_to_start": [],
        "activity_schedule_to_start": [],
    }
    for workflow_id in workflow_ids:
        if workflow_id not in due:
            continue
        events = list((await stack.client.get_workflow_handle(workflow_id).fetch_history()).events)
        by_id = {e.event_id: e for e in events}
        fired = [
            i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
        ]
        if not fired:
            continue
        i = fired[-1]  # the breach is the last timer this ticket fired
        started = by_id[events[i].timer_fired_event_attributes.started_event_id]
        aimed = (
            _at(started)
            + started.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        )
        spans["timer_started_after_due"].append((aimed - due[workflow_id]).total_seconds())
        spans["server_timer_delay"].append((_at(events[i]) - aimed).total_seconds())
        rest = events[i:]
        task_scheduled = _next(rest, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
        task_started = _next(rest, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        if task_scheduled and task_started:
            wait = _at(task_started) - _at(task_scheduled)
            spans["workflow_task_schedule_to_start"].append(wait.total_seconds())
        act_scheduled = _next(rest, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        act_started = _next(rest, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        if act_scheduled and act_started:
            wait = _at(act_started) - _at(act_scheduled)
            spans["activity_schedule_to_start"].append(wait.total_seconds())
    return {
        "sampled_tickets": len(spans["server_timer_delay"]),
        **{
            name: {"p50_ms": _ms(values, 50), "p99_ms": _ms(values, 99)}
            for name, values in spans.items()
        },
    }


async def bench(stack: Stack, n: int | None = None) -> dict[str, Any]:
    """Breach lateness p50/p99/max, how many of the expected fired, and where time went."""
    n = n or (10_000 if stack.full else 1_000)
    category = unique_label("bench-timers")
    run = uuid.uuid4().hex[:6]
    assignee = await admin_user_id(stack)
    async with stack.http(headers=stack.admin_headers) as http:
        created = await http.post("/api/v1/sla-policies", json=policy(category, timedelta(days=1)))
        created.raise_for_status()
        policy_id = created.json()["id"]

        # Warm-up on the default policy (hours away) gives the opening rate to plan with.
        warm = await open_tickets_direct(
            stack,
            BATCH * 2,
            unique_label("bench-timers-warm"),
            concurrency=CONCURRENCY,
            assignee_id=assignee,
        )
        planned_opening = n / (BATCH * 2 / warm) * PLAN_FACTOR
        window_start = datetime.now(UTC) + timedelta(seconds=planned_opening + LEAD_SECONDS)

        opened, versions, stopped_early, batch_seconds = 0, 0, False, 0.0
        began = time.monotonic()
        load_before = load_average()
        while opened < n:
            now = datetime.now(UTC)
            if (window_start - now).total_seconds() < MIN_LEAD_SECONDS + batch_seconds:
                stopped_early = True  # one more batch would be opening inside the window
                break
            # A batch's breaches spread over its own opening time: keep that much room at the end.
            spread = WINDOW_SECONDS - min(2 * batch_seconds + 1, WINDOW_SECONDS / 2)
            slot = timedelta(seconds=spread * opened / n)
            target = window_start + slot - now
            saved = await http.put(
                f"/api/v1/sla-policies/{policy_id}", json=policy(category, target)
            )
            saved.raise_for_status()
            versions += 1
            size = min(BATCH, n - opened)
            batch_seconds = await open_tickets_direct(
                stack,
                size,
                category,
                concurrency=CONCURRENCY,
                prefix=run,
                assignee_id=assignee,
                first=opened,
            )
            opened += size
        opening = time.monotonic() - began
        # No ticket is still opening; park the policy far away so nothing else binds to it.
        parked = await http.put(
            f"/api/v1/sla-policies/{policy_id}", json=policy(category, timedelta(days=1))
        )
        parked.raise_for_status()
    lead = (window_start - datetime.now(UTC)).total_seconds()
    load_opening = load_average()

    # Just before the window: nothing of this category has fired yet, or it is not quiet.
    await asyncio.sleep(max(0.0, (window_start - datetime.now(UTC)).total_seconds() - 1))
    fired_before_window = await event_count(stack, category, "sla_warning")
    # The quiet window: nothing runs here but the timers; read back only after it closed.
    end = window_start + timedelta(seconds=WINDOW_SECONDS)
    await asyncio.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()))
    load_window = load_average()
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        if await event_count(stack, category, "escalated") >= opened:
            break
        await asyncio.sleep(2)
    events = await fired_events(stack, category)

    breaches = events["sla_breached"]
    due_by_ticket = {workflow_id: due for workflow_id, _, due in breaches}
    step = max(1, opened // HISTORY_SAMPLE)
    sample = [f"ticket-{ticket_number(run, i)}" for i in range(0, opened, step)][:HISTORY_SAMPLE]
    split = await history_split(stack, sample, due_by_ticket)

    breach_at = {workflow_id: at for workflow_id, at, _ in breaches}
    warned_apart = sum(1 for wid, at, _ in events["sla_warning"] if breach_at.get(wid) != at)
    late = [(at - due).total_seconds() for _, at, due in breaches]
    dues = [due for _, _, due in breaches]
    window_end = window_start + timedelta(seconds=WINDOW_SECONDS)
    breach = lateness(late)
    return {
        "tickets": n,
        "opened": opened,
        "stopped_early": stopped_early,
        "window_seconds": WINDOW_SECONDS,
        "opening_seconds": round(opening, 1),
        "opening_per_second": round(opened / opening, 1) if opening else None,
        "policy_versions": versions,
        "quiet_lead_seconds": round(lead, 1),
        "warnings_fired_before_window": fired_before_window,
        "max_cached_workflows": stack.settings.max_cached_workflows,
        "due_outside_window": sum(1 for d in dues if not window_start <= d <= window_end),
        "due_span_seconds": round((max(dues) - min(dues)).total_seconds(), 1) if dues else None,
        "expected": opened,
        "fired": breach["fired"],
        "fired_within_grace_seconds": GRACE_SECONDS,
        "not_fired_within_grace": opened - breach["fired"],  # lateness figures exclude these
        "fired_early": breach["early"],
        "lateness_p50_ms": breach["p50_ms"],
        "lateness_p99_ms": breach["p99_ms"],
        "lateness_max_ms": breach["max_ms"],
        "warnings_fired_apart_from_breach": warned_apart,
        "escalation": lateness([(at - due).total_seconds() for _, at, due in events["escalated"]]),
        "breakdown_from_histories": split,
        "load_average": {"opening": load_before, "after_opening": load_opening},
        "load_average_after_window": load_window,
        "reference": "Zendesk automations: hourly; Odoo/OCA SLA cron: every 5 minutes",
    }


if __name__ == "__main__":
    run_alone("timers", bench)
