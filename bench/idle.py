"""Idle cost: worker RSS and Temporal DB size as open, idle tickets accumulate.

`python -m bench.idle`. Tickets on the default policy (first response hours away) are opened in
steps, by update-with-start at bounded concurrency (no HTTP: every one is a real Ticket
workflow with its row, its events and a pending SLA timer). They are opened assigned, which
skips auto-dispatch (one activity less each) and keeps 50k affordable. After each step the
process RSS (API + worker share this process) and the dev server's SQLite file are measured,
plus Postgres. With `max_cached_workflows` low, RSS should stay flat once the cache is full.
Steps: 250/500/1k (CI-light), 1k/10k/50k (BENCH_FULL=1); BENCH_IDLE_MAX caps the full steps
(e.g. 10000) when the time is not there. Writes bench/results/idle.json.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

from sqlalchemy import text

from bench.common import (
    Stack,
    admin_user_id,
    file_mb,
    load_average,
    open_tickets_direct,
    rss_mb,
    run_alone,
    unique_label,
    write_result,
)

CONCURRENCY = 16
CHUNK = 1_000  # opened per call, so progress shows on long steps


def steps(full: bool) -> list[int]:
    chosen = [1_000, 10_000, 50_000] if full else [250, 500, 1_000]
    cap = int(os.environ.get("BENCH_IDLE_MAX", "0") or 0)
    if not cap:
        return chosen
    return [s for s in chosen if s <= cap] or chosen[:1]


async def postgres_mb(stack: Stack) -> float:
    async with stack.engine.connect() as conn:
        size = (await conn.execute(text("SELECT pg_database_size(current_database())"))).scalar()
    return round(int(size or 0) / 2**20, 2)


async def measure(stack: Stack) -> dict[str, Any]:
    await asyncio.sleep(2)  # let the last activities and workflow tasks settle
    return {
        "rss_mb": rss_mb(),
        "temporal_db_mb": file_mb(stack.temporal_db),
        "postgres_mb": await postgres_mb(stack),
        "load_average": load_average(),
    }


def per_ticket_kb(after: dict[str, Any], before: dict[str, Any], tickets: int) -> dict[str, Any]:
    return {
        f"{key.removesuffix('_mb')}_kb_per_ticket": round(
            (after[key] - before[key]) * 1024 / tickets, 2
        )
        for key in ("rss_mb", "temporal_db_mb", "postgres_mb")
    }


async def bench(stack: Stack) -> dict[str, Any]:
    """RSS and DB sizes per step, per-ticket cost per step and over the whole run."""
    category = unique_label("bench-idle")
    assignee = await admin_user_id(stack)
    run = uuid.uuid4().hex[:6]
    await open_tickets_direct(stack, 20, category, prefix=f"W{run}", assignee_id=assignee)
    baseline = await measure(stack)
    series: list[dict[str, Any]] = []
    opened, previous = 0, baseline
    for target in steps(stack.full):
        began = time.monotonic()
        while opened < target:
            size = min(CHUNK, target - opened)
            await open_tickets_direct(
                stack,
                size,
                category,
                concurrency=CONCURRENCY,
                prefix=run,
                assignee_id=assignee,
                first=opened,
            )
            opened += size
            if opened < target:
                print(f"idle: {opened} open, opening on to {target}", flush=True)  # noqa: T201
        seconds = time.monotonic() - began
        point = await measure(stack)
        step_tickets = target - (series[-1]["open_tickets"] if series else 0)
        series.append(
            {
                "open_tickets": opened,
                **point,
                "opening_seconds": round(seconds, 1),
                "opened_per_second": round(step_tickets / seconds, 1),
                "this_step": per_ticket_kb(point, previous, step_tickets),
            }
        )
        previous = point
        print(f"idle: {opened} open, {point}", flush=True)  # noqa: T201
        # Kept after every step: a long full run stopped midway still leaves its figures.
        partial = {"partial": True, "max_cached_workflows": stack.settings.max_cached_workflows}
        write_result("idle", {**partial, "baseline": baseline, "steps": series})
    last = series[-1]
    whole = per_ticket_kb(last, baseline, opened)
    return {
        "max_cached_workflows": stack.settings.max_cached_workflows,
        "baseline": baseline,
        "steps": series,
        **whole,
        "rss_flat_once_cache_full": _flat(series, stack.settings.max_cached_workflows),
        "note": (
            "RSS is this process: API, worker and bench clients together; the baseline is "
            "the same stack with 20 tickets open; per-ticket figures are growth over it"
        ),
    }


def _flat(series: list[dict[str, Any]], cache: int) -> dict[str, Any] | None:
    """RSS growth per ticket between the first and last steps past the cache size."""
    full = [s for s in series if s["open_tickets"] > cache]
    if len(full) < 2:
        return None
    first, last = full[0], full[-1]
    growth = (last["rss_mb"] - first["rss_mb"]) * 1024
    return {
        "from_tickets": first["open_tickets"],
        "to_tickets": last["open_tickets"],
        "rss_growth_mb": round(growth / 1024, 1),
        "rss_kb_per_ticket": round(growth / (last["open_tickets"] - first["open_tickets"]), 3),
    }


if __name__ == "__main__":
    run_alone("idle", bench)
