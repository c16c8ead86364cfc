"""Idle cost: worker RSS and Temporal DB size as open, idle tickets accumulate.

`python -m bench.idle`. Tickets on the default policy (first response hours away) are opened
in steps; after each step the process RSS (API + worker share this process) and the dev
server's SQLite file are measured. With `max_cached_workflows` low, RSS should plateau once
the cache is full. Writes bench/results/idle.json.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import Stack, file_mb, open_tickets_direct, rss_mb, run_alone, unique_label


async def bench(stack: Stack) -> dict[str, Any]:
    """RSS and DB size per step, and the per-ticket cost over the whole run."""
    steps = [1_000, 5_000, 10_000] if stack.full else [250, 500, 1_000]
    category = unique_label("bench-idle")
    await open_tickets_direct(stack, 20, category, prefix="IW")  # warm caches and pools
    await asyncio.sleep(2)
    rss0, db0 = rss_mb(), file_mb(stack.temporal_db)
    series = []
    opened = 0
    for i, target in enumerate(steps):
        await open_tickets_direct(stack, target - opened, category, prefix=f"I{i}")
        opened = target
        await asyncio.sleep(2)
        series.append(
            {
                "open_tickets": opened,
                "rss_mb": rss_mb(),
                "temporal_db_mb": file_mb(stack.temporal_db),
            }
        )
    last = series[-1]
    return {
        "max_cached_workflows": stack.settings.max_cached_workflows,
        "baseline": {"rss_mb": rss0, "temporal_db_mb": db0},
        "steps": series,
        "rss_kb_per_ticket": round((last["rss_mb"] - rss0) * 1024 / opened, 2),
        "temporal_db_kb_per_ticket": round((last["temporal_db_mb"] - db0) * 1024 / opened, 2),
        "note": "RSS is this process: API, worker and bench clients together",
    }


if __name__ == "__main__":
    run_alone("idle", bench)
