"""Timer precision at scale: SLA breaches of N open tickets, fired late by how much?

`python -m bench.timers`. A policy scoped to a fresh category gives every priority a 60 s
first-response target; N tickets are opened on it by update-with-start (no HTTP, so the
opening spread stays short), then the `sla_breached` events are read back from Postgres and
each event's `at` is compared with the `due_at` it carries. Reference points: Zendesk
automations run hourly, Odoo/OCA SLA crons every 5 minutes. Writes bench/results/timers.json.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from sqlalchemy import text

from bench.common import Stack, open_tickets_direct, percentile, run_alone, unique_label

TARGET = "PT60S"
GRACE_SECONDS = 90

_BREACHES = text(
    """
    SELECT e.at, e.data->>'due_at' AS due_at
    FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
    WHERE t.category = :category AND e.type = 'sla_breached'
    """
)


def policy(category: str) -> dict[str, Any]:
    """Every priority breaches its first response 60 s after creation; nothing else is due."""
    targets = {p: {"first_response": TARGET, "resolution": "P30D"} for p in ("urgent", "normal")}
    targets["low"] = {"first_response": TARGET, "resolution": "P30D"}
    return {
        "name": category,
        "targets": targets,
        "escalation": [],
        "tracking": {"urgent": "P30D", "normal": "P30D", "low": "P30D"},
        "scope": {"categories": [category]},
    }


async def breaches(stack: Stack, category: str) -> list[float]:
    """Seconds between each breach's due time and the moment the workflow fired it."""
    async with stack.engine.connect() as conn:
        rows = (await conn.execute(_BREACHES, {"category": category})).all()
    return [(at - datetime.fromisoformat(due)).total_seconds() for at, due in rows]


async def bench(stack: Stack) -> dict[str, Any]:
    """Lateness p50/p99/max and how many of the expected breaches fired."""
    n = 10_000 if stack.full else 1_000
    category = unique_label("bench-timers")
    async with stack.http(headers=stack.admin_headers) as http:
        created = await http.post("/api/v1/sla-policies", json=policy(category))
        created.raise_for_status()
    opening = await open_tickets_direct(stack, n, category, concurrency=8)
    # The last ticket breaches 60 s after it opened; allow a bounded grace beyond that.
    deadline = time.monotonic() + 60 + GRACE_SECONDS
    late = await breaches(stack, category)
    while len(late) < n and time.monotonic() < deadline:
        await asyncio.sleep(2)
        late = await breaches(stack, category)
    return {
        "tickets": n,
        "first_response_target": TARGET,
        "opening_seconds": round(opening, 1),
        "expected": n,
        "fired": len(late),
        "lateness_p50_ms": round(percentile(late, 50) * 1000, 1) if late else None,
        "lateness_p99_ms": round(percentile(late, 99) * 1000, 1) if late else None,
        "lateness_max_ms": round(max(late) * 1000, 1) if late else None,
        "fired_early": sum(1 for s in late if s < 0),
        "reference": "Zendesk automations: hourly; Odoo/OCA SLA cron: every 5 minutes",
    }


if __name__ == "__main__":
    run_alone("timers", bench)
