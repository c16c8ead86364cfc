"""Update latency: `POST /tickets/{id}/comments` vs a bare Temporal update round trip.

`python -m bench.updates`. Sequential requests (one at a time, so the figures are latency, not
queueing) spread over a few tickets; the baselines are an update that only mutates workflow
state and one that also runs an activity, as a ticket update persists through one.
Writes bench/results/updates.json.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench.baseline import BASELINE_QUEUE, UpdatableWorkflow, baseline_worker
from bench.common import Stack, latency_ms, run_alone

TICKETS = 5


async def _timed(n: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    await op(-1)  # warm-up
    times = []
    for i in range(n):
        began = time.perf_counter()
        await op(i)
        times.append(time.perf_counter() - began)
    return times


async def bench(stack: Stack) -> dict[str, Any]:
    """p50/p99 of API comments and of bare updates."""
    n = 1000 if stack.full else 150
    async with stack.http(headers=stack.admin_headers) as http:
        ids = []
        for i in range(TICKETS):
            body = {"title": f"update bench {i}", "description": "d", "category": "bench_update"}
            created = await http.post("/api/v1/tickets", json=body)
            created.raise_for_status()
            ids.append(created.json()["id"])

        async def comment(i: int) -> None:
            path = f"/api/v1/tickets/{ids[i % TICKETS]}/comments"
            response = await http.post(path, json={"body": f"note {i}", "public": False})
            response.raise_for_status()

        api_times = await _timed(n, comment)

    async with baseline_worker(stack.client):
        handle = await stack.client.start_workflow(
            UpdatableWorkflow.run,
            id=f"bench-updatable-{uuid.uuid4().hex[:8]}",
            task_queue=BASELINE_QUEUE,
        )

        async def note(i: int) -> None:
            await handle.execute_update(UpdatableWorkflow.note, f"note {i}")

        async def persist(i: int) -> None:
            await handle.execute_update(UpdatableWorkflow.persist, f"note {i}")

        bare_times = await _timed(n, note)
        bare_activity_times = await _timed(n, persist)
        await handle.signal(UpdatableWorkflow.stop)
        await handle.result()

    api, bare = latency_ms(api_times), latency_ms(bare_times)
    return {
        "updates": n,
        "api_comment": api,
        "bare_update": bare,
        "bare_update_with_activity": latency_ms(bare_activity_times),
        "api_vs_bare_p50": round(api["p50_ms"] / bare["p50_ms"], 2),
        "api_vs_bare_p99": round(api["p99_ms"] / bare["p99_ms"], 2),
    }


if __name__ == "__main__":
    run_alone("updates", bench)
