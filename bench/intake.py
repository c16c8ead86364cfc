"""Intake: tickets/s through `POST /api/v1/tickets` vs bare `start_workflow` on the same server.

`python -m bench.intake`. C concurrent HTTP clients each create tickets (API + Postgres +
update-with-start + first persist); the baseline starts an empty workflow with the same
concurrency. Writes bench/results/intake.json.
"""

from __future__ import annotations

import uuid
from typing import Any

from bench.baseline import BASELINE_QUEUE, EmptyWorkflow, baseline_worker
from bench.common import Stack, latency_ms, run_alone, timed_concurrently

CONCURRENCY = 8


async def bench(stack: Stack, n: int | None = None) -> dict[str, Any]:
    """Both rates, their ratio and latencies."""
    n = n or (2000 if stack.full else 200)
    https = [stack.http(headers=stack.admin_headers) for _ in range(CONCURRENCY)]
    body = {"title": "Screen flickers", "description": "after update", "category": "bench_intake"}

    async def create(i: int) -> None:
        response = await https[i % CONCURRENCY].post("/api/v1/tickets", json=body)
        response.raise_for_status()

    await create(0)  # warm-up: first policy lookup, connection pools
    api_wall, api_times = await timed_concurrently(n, CONCURRENCY, create)
    for http in https:
        await http.aclose()

    run = uuid.uuid4().hex[:8]

    async def start(i: int) -> None:
        await stack.client.start_workflow(
            EmptyWorkflow.run, id=f"bench-empty-{run}-{i}", task_queue=BASELINE_QUEUE
        )

    async with baseline_worker(stack.client):
        await start(-1)
        bare_wall, bare_times = await timed_concurrently(n, CONCURRENCY, start)

    api_rate, bare_rate = n / api_wall, n / bare_wall
    return {
        "tickets": n,
        "concurrency": CONCURRENCY,
        "api_create": {"per_second": round(api_rate, 1), **latency_ms(api_times)},
        "bare_start_workflow": {"per_second": round(bare_rate, 1), **latency_ms(bare_times)},
        "api_vs_bare_rate": round(api_rate / bare_rate, 3),
    }


if __name__ == "__main__":
    run_alone("intake", bench)
