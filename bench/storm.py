"""Breach storm: N open tickets whose SLAs all fall due at one business-day opening.

`python -m bench.storm [--tickets N] [--dead-webhooks K]`. The API and workers run as
processes (`bench.procs`). Each phase (1 worker, then 2 workers) opens N tickets during
non-working time of a CN business calendar (statutory holidays from "CN", Mon-Fri
09:00-18:00) whose working day starts at a moment S a little ahead: the calendar the
bench saves gives S's weekday working hours from S's local time of day, so everything
opened before S waits, as tickets opened over a weekend or holiday wait for Monday 09:00,
and falls due at S + 1 s of business time. Every breach escalates to the admins (in-app
notifications) and K webhooks, each on a dead loopback port, subscribe to `escalated`:
their deliveries retry while the storm runs. In the 2-worker phase one worker is
SIGKILLed just after S and restarted. Each phase runs on a fresh stack.

Read back from `ticket_events`: lateness of `sla_breached` (at - due_at) p50/p99/max, the
sustained breach rate (breaches / seconds from S to the last one), and any breach or
escalation recorded twice for the same ticket and target. Writes bench/results/storm.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.common import (
    Stack,
    admin_user_id,
    is_full,
    load_average,
    open_tickets_direct,
    percentile,
    write_result,
)
from bench.procs import process_stack
from bench.ratios import cpu_seconds
from core import devstack
from core.errors import Unavailable

TIMEZONE = "Asia/Shanghai"
TARGET = "PT1S"
OPEN_CONCURRENCY = 16
PLAN_FACTOR = 1.5  # opening planned this much slower than the warm-up rate
LEAD_SECONDS = 10.0
KILL_AFTER_SECONDS = 1.0  # into the storm: SIGKILL one worker; restart it this much later
KILL_DOWN_SECONDS = 3.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_EVENTS = text(
    """
    SELECT e.ticket_id, e.type, e.at, e.data->>'due_at', e.data->>'target'
    FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
    WHERE t.category = :category AND e.type IN ('sla_breached', 'escalated')
    """
)
_COUNT = text(
    """
    SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
    WHERE t.category = :category AND e.type = 'sla_breached'
    """
)
_WEBHOOK_ROWS = text(
    """
    SELECT n.status, count(*) FROM notifications n JOIN tickets t ON t.id = n.ticket_id
    WHERE t.category = :category AND n.channel = 'webhook' GROUP BY n.status
    """
)


def calendar(name: str, opening: datetime) -> dict[str, Any]:
    """CN holidays, Mon-Fri 09:00-18:00, and `opening`'s weekday starting at `opening`."""
    local = opening.astimezone(ZoneInfo(TIMEZONE))
    hours: dict[str, list[list[str]]] = {day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]}
    hours[WEEKDAYS[local.weekday()]] = [[local.strftime("%H:%M"), "00:00"]]
    return {"name": name, "timezone": TIMEZONE, "working_hours": hours, "holidays": "CN"}


def policy(category: str, calendar_id: int) -> dict[str, Any]:
    """First response 1 s of business time; the warning goes out with the breach."""
    targets = {p: {"first_response": TARGET, "resolution": "P30D"} for p in ("urgent", "normal")}
    targets["low"] = {"first_response": TARGET, "resolution": "P30D"}
    return {
        "name": category,
        "calendar_id": calendar_id,
        "targets": targets,
        "warn_at": 0.99999,
        "escalation": [{"notify": "role:admin"}],
        "tracking": {"urgent": "P30D", "normal": "P30D", "low": "P30D"},
        "scope": {"categories": [category]},
    }


Row = tuple[int, str, datetime, str, str]


def summarise(rows: list[Row], opening: datetime) -> dict[str, Any]:
    """Lateness, rate and doubles from (ticket, type, at, due_at, target) rows."""
    seen: dict[tuple[str, int, str], int] = {}
    late: list[float] = []
    fired_at: list[datetime] = []
    for ticket_id, kind, at, due, target in rows:
        key = (kind, ticket_id, target or "")
        seen[key] = seen.get(key, 0) + 1
        if kind == "sla_breached":
            late.append((at - datetime.fromisoformat(due)).total_seconds())
            fired_at.append(at)
    doubles = {
        kind: sum(1 for (k, _, _), count in seen.items() if k == kind and count > 1)
        for kind in ("sla_breached", "escalated")
    }
    span = (max(fired_at) - opening).total_seconds() if fired_at else 0.0
    dues = [datetime.fromisoformat(due) for _, kind, _, due, _ in rows if kind == "sla_breached"]
    return {
        "breaches": len(late),
        "escalations": sum(1 for row in rows if row[1] == "escalated"),
        "due_span_ms": round((max(dues) - min(dues)).total_seconds() * 1000, 1) if dues else None,
        "lateness_p50_ms": round(percentile(late, 50) * 1000, 1) if late else None,
        "lateness_p99_ms": round(percentile(late, 99) * 1000, 1) if late else None,
        "lateness_max_ms": round(max(late) * 1000, 1) if late else None,
        "fired_early": sum(1 for s in late if s < 0),
        "breaches_per_second": round(len(late) / span, 1) if span > 0 else None,
        "breaches_fired_twice": doubles["sla_breached"],
        "escalations_recorded_twice": doubles["escalated"],
    }


async def phase(stack: Stack, n: int, *, kill_one: bool, grace: float) -> dict[str, Any]:
    """Open n tickets before the opening S, wait for the storm, read it back."""
    procs = stack.procs
    category = f"bench-storm-{uuid.uuid4().hex[:6]}"
    assignee = await admin_user_id(stack)
    warm = await open_tickets_direct(stack, 32, f"{category}-warm", assignee_id=assignee)
    lead = n / (32 / warm) * PLAN_FACTOR + LEAD_SECONDS
    # Calendars take HH:MM: the opening is the first whole minute after the planned lead.
    planned = datetime.now(UTC) + timedelta(seconds=lead)
    opening = planned.replace(second=0, microsecond=0) + timedelta(minutes=1)
    async with stack.http(headers=stack.admin_headers) as http:
        cal = await http.post("/api/v1/calendars", json=calendar(category, opening))
        if cal.status_code != 201:
            raise RuntimeError(f"calendar refused: {cal.text}")
        made = await http.post("/api/v1/sla-policies", json=policy(category, cal.json()["id"]))
        made.raise_for_status()
    load_opening = load_average()
    began = time.monotonic()
    opened, opening_error = 0, None
    while opened < n and (opening - datetime.now(UTC)).total_seconds() > 3:
        size = min(OPEN_CONCURRENCY * 2, n - opened)
        try:
            await open_tickets_direct(
                stack, size, category, prefix=category[-6:], assignee_id=assignee, first=opened
            )
        except Unavailable as exc:  # the worker is too busy to persist new tickets: stop here
            opening_error = str(exc)
            break
        opened += size
    opening_seconds = time.monotonic() - began
    await asyncio.sleep(max(0.0, (opening - datetime.now(UTC)).total_seconds() - 0.5))
    cpu_before = cpu_seconds(stack)
    await asyncio.sleep(max(0.0, (opening - datetime.now(UTC)).total_seconds()))
    load_storm = load_average()
    killed = None
    if kill_one and procs is not None:
        await asyncio.sleep(KILL_AFTER_SECONDS)
        await asyncio.to_thread(procs.workers[0].kill)
        killed = f"worker 0 SIGKILLed {KILL_AFTER_SECONDS} s into the storm"
        await asyncio.sleep(KILL_DOWN_SECONDS)
        await asyncio.to_thread(procs.workers[0].start)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        async with stack.engine.connect() as conn:
            if (await conn.execute(_COUNT, {"category": category})).scalar_one() >= opened:
                break
        await asyncio.sleep(1)
    cpu_after = cpu_seconds(stack)
    cpu = {k: round(v - cpu_before.get(k, 0.0), 1) for k, v in cpu_after.items()}
    worker_cpu = cpu["workers"]
    await asyncio.sleep(2)  # a breach recorded twice would land right after the first
    async with stack.engine.connect() as conn:
        rows: list[Row] = [
            (r[0], r[1], r[2], r[3], r[4])
            for r in (await conn.execute(_EVENTS, {"category": category})).all()
        ]
        found = (await conn.execute(_WEBHOOK_ROWS, {"category": category})).all()
        hooks: dict[str, int] = {str(status): int(count) for status, count in found}
    figures = summarise(rows, opening)
    return {
        "workers": len(procs.workers) if procs else None,
        "opened": opened,
        "opening_seconds": round(opening_seconds, 1),
        "opening_error": opening_error,
        "not_fired_within_grace": opened - figures["breaches"],
        **figures,
        "webhook_rows_by_status": hooks,
        # Worker CPU from the opening until the last breach (or the grace ran out); a killed
        # worker's share before the kill is not counted.
        "cpu_seconds_during_storm": cpu,
        "breaches_per_worker_cpu_second": (
            round(figures["breaches"] / worker_cpu, 1) if worker_cpu > 0 and not killed else None
        ),
        "killed": killed,
        "load_average": {"opening": load_opening, "storm": load_storm, "after": load_average()},
    }


async def dead_webhooks(stack: Stack, count: int) -> None:
    """`count` subscriptions to `escalated`, each on a loopback port nobody listens on."""
    async with stack.http(headers=stack.admin_headers) as http:
        for _ in range(count):
            url = f"http://127.0.0.1:{devstack.free_port()}/dead"
            made = await http.post("/api/v1/webhooks", json={"url": url, "events": ["escalated"]})
            made.raise_for_status()


async def run(
    n: int, hooks: int, grace: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Each phase on a fresh stack, so the second does not inherit the first's backlog."""
    phases: dict[str, Any] = {}
    # The dead receivers sit on loopback, which the outbound guard refuses unless allowlisted.
    env = {"CLOSEDLOOP_OUTBOUND_ALLOWLIST": '["127.0.0.1"]', **(env or {})}
    for workers, name in ((1, "one_worker"), (2, "two_workers")):
        async with process_stack(workers=workers, env=env, full=is_full()) as stack:
            await dead_webhooks(stack, hooks)
            phases[name] = await phase(stack, n, kill_one=workers > 1, grace=grace)
        print(json.dumps({name: phases[name]}), file=sys.stderr, flush=True)
    return {
        "tickets": n,
        "dead_webhooks": hooks,
        "settings": env or {},
        "target": f"first response {TARGET} of business time after the opening",
        **phases,
        "shared_machine": "measured while other work shared the cores: see load_average",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000 if is_full() else 300)
    parser.add_argument("--dead-webhooks", type=int, default=100)
    parser.add_argument("--grace", type=float, default=None, help="seconds to wait for breaches")
    parser.add_argument("--no-write", action="store_true", help="print only (no results file)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for every API and worker process (CLOSEDLOOP_...=...)",
    )  # fmt: skip
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.set)
    grace = args.grace if args.grace is not None else 60 + args.tickets / 10
    figures = asyncio.run(run(args.tickets, args.dead_webhooks, grace, env))
    text_out = json.dumps(figures, indent=2) if args.no_write else write_result("storm", figures)
    print(text_out)  # noqa: T201


if __name__ == "__main__":
    main()
