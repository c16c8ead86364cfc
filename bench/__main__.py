"""`python -m bench` (`make bench`): every benchmark on one stack, one JSON file each.

CI-light sizes by default; BENCH_FULL=1 for the full ones. `python -m bench intake reads` runs
a subset; without names: reads, idle, timers (in-process; `bench.ratios` and `bench.storm` run
the API and worker as processes). Prints each result and a summary table at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import idle, intake, reads, timers, updates
from bench.common import Stack, bench_stack, load_average, write_result
from core.settings import Settings

Bench = Callable[[Stack], Awaitable[dict[str, Any]]]
BENCHES: dict[str, Bench] = {
    "intake": intake.bench,
    "updates": updates.bench,
    "reads": reads.bench,
    "idle": idle.bench,
    "timers": timers.bench,
}

# Intake and updates are measured with the API and worker as processes (`bench.ratios`);
# their in-process variants stay available by name, for comparison with older figures.
DEFAULT = ["reads", "idle", "timers"]


def summary(name: str, r: dict[str, Any]) -> str:
    """One line per bench for the closing table."""
    if name == "intake":
        a, b = r["api_create"], r["bare_start_workflow"]
        return (
            f"{a['per_second']}/s via API (p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms) vs "
            f"{b['per_second']}/s bare start; ratio {r['api_vs_bare_rate']}"
        )
    if name == "updates":
        a, b = r["api_comment"], r["bare_update"]
        return (
            f"comment p50 {a['p50_ms']} / p99 {a['p99_ms']} ms vs bare update "
            f"p50 {b['p50_ms']} / p99 {b['p99_ms']} ms"
        )
    if name == "timers":
        return (
            f"{r['fired']}/{r['expected']} breaches fired in the window + "
            f"{r['fired_within_grace_seconds']} s ({r['fired_early']} early, "
            f"{r['due_outside_window']} due outside the window); late p50 "
            f"{r['lateness_p50_ms']} / p99 {r['lateness_p99_ms']} / max {r['lateness_max_ms']} ms"
        )
    if name == "idle":
        last = r["steps"][-1]
        return (
            f"{last['open_tickets']} idle: RSS {r['baseline']['rss_mb']}→{last['rss_mb']} MiB, "
            f"Temporal DB {r['baseline']['temporal_db_mb']}→{last['temporal_db_mb']} MiB"
        )
    if name == "reads":
        return f"{r['rows']} rows: worst list p99 {r['worst_api_p99_ms']} ms"
    return ""


# The worker's workflow cache per bench. Idle runs with a small cache to show RSS flat once it
# is full; the others with the product default (CLOSEDLOOP_MAX_CACHED_WORKFLOWS, 1000), which
# holds every timer ticket of the light run. BENCH_MAX_CACHED_WORKFLOWS overrides both.
IDLE_CACHE = 200
PRODUCT_CACHE = Settings.model_fields["max_cached_workflows"].default


def cache_for(name: str) -> int:
    override = os.environ.get("BENCH_MAX_CACHED_WORKFLOWS")
    if override:
        return int(override)
    return IDLE_CACHE if name == "idle" else int(PRODUCT_CACHE)


async def run(names: list[str]) -> dict[str, dict[str, Any]]:
    """Benches sharing a cache size share one stack, started fresh for each size."""
    results: dict[str, dict[str, Any]] = {}
    for cached in dict.fromkeys(cache_for(name) for name in names):
        async with bench_stack(max_cached_workflows=cached) as stack:
            for name in (n for n in names if cache_for(n) == cached):
                began, load = time.monotonic(), load_average()
                results[name] = await BENCHES[name](stack)
                results[name]["mode"] = "full" if stack.full else "light"
                results[name]["max_cached_workflows"] = cached
                results[name]["bench_seconds"] = round(time.monotonic() - began, 1)
                results[name]["load_average_before_after"] = [load, load_average()]
                print(f"== {name}\n{write_result(name, results[name])}", flush=True)  # noqa: T201
    return {name: results[name] for name in names}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    names = sys.argv[1:] or DEFAULT
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        sys.exit(f"unknown bench {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    signal.signal(signal.SIGTERM, _interrupt)  # a killed run still stops its servers
    began = time.monotonic()
    results = asyncio.run(run(names))
    print("\nbench        seconds  result")  # noqa: T201
    for name, r in results.items():
        print(f"{name:<12} {r['bench_seconds']:>7}  {summary(name, r)}")  # noqa: T201
    print(f"total {time.monotonic() - began:.0f} s, load average {load_average()}")  # noqa: T201


if __name__ == "__main__":
    main()
