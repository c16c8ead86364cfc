"""Intake and status updates through our API, as ratios to the fair baseline of the same run.

`python -m bench.ratios [--workers N] [--apis M]`: the API and worker run as processes
(`bench.procs`). Intake: C concurrent HTTP clients create tickets (spread over the APIs)
against C concurrent bare update-with-starts of `BenchInsert` (one activity, one row);
the two alternate in halves so a change of machine load hits both. Status: sequential
`POST /tickets/{id}/status` (processing <-> awaiting_customer) against sequential bare
updates and updates persisting one row. Writes bench/results/ratios.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psutil
from temporalio.client import Client

from bench.common import (
    Stack,
    is_full,
    latency_ms,
    load_average,
    timed_concurrently,
    write_result,
)
from bench.fair import FAIR_QUEUE, UpdatableWorkflow, insert_with_start
from bench.procs import process_stack

CONCURRENCY = 8
TICKETS = 5
NOTES = ("processing", "awaiting_customer")


Op = Callable[[int], Awaitable[object]]


async def _alternating(
    n: int, ours: Op, base: Op
) -> tuple[tuple[float, list[float]], tuple[float, list[float]]]:
    """Each side in two halves, interleaved (base, ours, base, ours); wall seconds + durations."""
    walls: list[float] = [0.0, 0.0]
    times: list[list[float]] = [[], []]
    half = max(1, n // 2)
    for first, size in ((0, half), (half, n - half)):
        for side, op in ((0, base), (1, ours)):
            if size <= 0:
                continue
            wall, durations = await timed_concurrently(size, CONCURRENCY, _shifted(op, first))
            walls[side] += wall
            times[side] += durations
    return (walls[1], times[1]), (walls[0], times[0])


def _shifted(op: Op, first: int) -> Op:
    return lambda i: op(first + i)


async def intake(stack: Stack, n: int) -> dict[str, Any]:
    urls = stack.base_urls or [stack.base_url]
    https = [stack.http(headers=stack.admin_headers) for _ in range(CONCURRENCY)]
    for i, http in enumerate(https):
        http.base_url = urls[i % len(urls)]
    body = {"title": "Screen flickers", "description": "after update", "category": "bench_intake"}
    run = uuid.uuid4().hex[:8]

    async def create(i: int) -> None:
        key = f"{run}-{i}"
        response = await https[i % CONCURRENCY].post(
            "/api/v1/tickets", json=body, headers={"Idempotency-Key": key}
        )
        response.raise_for_status()

    bare_client = await Client.connect(stack.settings.temporal_address)  # no codec: bare

    async def bare(i: int) -> None:
        await insert_with_start(bare_client, f"{run}-{i}")

    await create(-1)  # warm-up: connections, first policy lookup, sticky caches
    await bare(-1)
    cpu_before = cpu_seconds(stack)
    try:
        (api_wall, api_times), (bare_wall, bare_times) = await _alternating(n, create, bare)
    finally:
        for http in https:
            await http.aclose()
    cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(stack).items()}
    api_rate, bare_rate = len(api_times) / api_wall, len(bare_times) / bare_wall
    return {
        # CPU seconds the processes used over both sides of the run (the fair worker serves only
        # the baseline, ours only the tickets): the sizing figure least moved by other load.
        "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        "tickets_per_worker_cpu_second": _per(len(api_times), cpu.get("workers")),
        "tickets_per_api_cpu_second": _per(len(api_times), cpu.get("apis")),
        "baseline_per_worker_cpu_second": _per(len(bare_times), cpu.get("fair_worker")),
        "tickets": len(api_times),
        "concurrency": CONCURRENCY,
        "api_create": {"per_second": round(api_rate, 1), **latency_ms(api_times)},
        "fair_baseline": {"per_second": round(bare_rate, 1), **latency_ms(bare_times)},
        "api_vs_fair_rate": round(api_rate / bare_rate, 3),
    }


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU seconds so far of the workers, APIs, fair worker and the servers."""
    procs = stack.procs
    if procs is None:
        return {}
    groups = {"workers": procs.workers, "apis": procs.apis, "fair_worker": [stack.fair_worker]}
    out: dict[str, float] = {}
    for name, members in groups.items():
        total = 0.0
        for member in members:
            if member.popen is not None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    times = psutil.Process(member.popen.pid).cpu_times()
                    total += times.user + times.system
        out[name] = total
    for name, server in (("temporal", procs.temporal), ("postgres", procs.postgres)):
        popen = getattr(server, "_popen", None)
        with contextlib.suppress(psutil.NoSuchProcess, AttributeError):
            root = psutil.Process(popen.pid)  # type: ignore[union-attr]
            out[name] = sum(
                t.user + t.system
                for t in (p.cpu_times() for p in [root, *root.children(recursive=True)])
            )
    return out


def _per(count: int, seconds: float | None) -> float | None:
    return round(count / seconds, 1) if seconds else None


async def _sequential(n: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    await op(-1)  # warm-up
    times = []
    for i in range(n):
        began = time.perf_counter()
        await op(i)
        times.append(time.perf_counter() - began)
    return times


async def status_updates(stack: Stack, n: int) -> dict[str, Any]:
    async with stack.http(headers=stack.admin_headers) as http:
        ids = []
        for i in range(TICKETS):
            body = {"title": f"status bench {i}", "description": "d", "category": "bench_status"}
            created = await http.post("/api/v1/tickets", json=body)
            created.raise_for_status()
            ids.append(created.json()["id"])
        moves = [0] * TICKETS  # moves made per ticket: even -> processing next

        async def status(i: int) -> None:
            t = (i + 1) % TICKETS
            target = NOTES[moves[t] % 2]
            path = f"/api/v1/tickets/{ids[t]}/status"
            response = await http.post(path, json={"status": target, "note": f"step {i}"})
            response.raise_for_status()
            moves[t] += 1

        for t in range(TICKETS):  # every ticket leaves `pending` first
            await http.post(
                f"/api/v1/tickets/{ids[t]}/status", json={"status": "processing", "note": "go"}
            )
            moves[t] = 1
        api_times = await _sequential(n, status)

    bare_client = await Client.connect(stack.settings.temporal_address)
    handle = await bare_client.start_workflow(
        UpdatableWorkflow.run, id=f"bench-fair-updatable-{uuid.uuid4().hex[:8]}",
        task_queue=FAIR_QUEUE,
    )  # fmt: skip
    run = uuid.uuid4().hex[:8]
    bare_times = await _sequential(n, lambda i: handle.execute_update(UpdatableWorkflow.note, ""))
    persist_times = await _sequential(
        n, lambda i: handle.execute_update(UpdatableWorkflow.persist, f"u-{run}-{i}")
    )
    await handle.signal(UpdatableWorkflow.stop)
    await handle.result()
    api, bare = latency_ms(api_times), latency_ms(bare_times)
    return {
        "updates": n,
        "api_status": api,
        "bare_update": bare,
        "bare_update_persisting_a_row": latency_ms(persist_times),
        "api_vs_bare_p99": round(api["p99_ms"] / bare["p99_ms"], 2),
        "api_vs_persisting_p99": round(api["p99_ms"] / latency_ms(persist_times)["p99_ms"], 2),
    }


async def bench(stack: Stack, *, creates: int, updates: int) -> dict[str, Any]:
    procs = stack.procs
    load = load_average()
    began = time.monotonic()
    figures: dict[str, Any] = {
        "workers": len(procs.workers) if procs else None,
        "apis": len(procs.apis) if procs else None,
        "intake": await intake(stack, creates),
        "status": await status_updates(stack, updates),
    }
    figures["bench_seconds"] = round(time.monotonic() - began, 1)
    figures["load_average_before_after"] = [load, load_average()]
    figures["shared_machine"] = "figures depend on other load: compare the ratios"
    return figures


async def run(
    workers: int, apis: int, creates: int, updates: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    async with process_stack(workers=workers, apis=apis, env=env, full=is_full()) as stack:
        figures = await bench(stack, creates=creates, updates=updates)
    figures["settings"] = env or {}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--apis", type=int, default=1)
    parser.add_argument("--creates", type=int, default=2000 if is_full() else 200)
    parser.add_argument("--updates", type=int, default=1000 if is_full() else 150)
    parser.add_argument("--no-write", action="store_true", help="print only (no results file)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for every API and worker process (CLOSEDLOOP_...=...)",
    )  # fmt: skip
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.set)
    figures = asyncio.run(run(args.workers, args.apis, args.creates, args.updates, env))
    text = json.dumps(figures, indent=2) if args.no_write else write_result("ratios", figures)
    print(text)  # noqa: T201


if __name__ == "__main__":
    main()
