"""Where a ticket's time goes: py-spy on the API and worker processes under intake load.

`python -m bench.profile [--seconds 30]`. Starts the process stack (one API, one worker),
samples both with py-spy while C HTTP clients create tickets, then sorts each process's
samples into buckets by the first matching frame of the stack (innermost first): payload
codec, Postgres (SQLAlchemy/psycopg), Temporal SDK (client RPCs, worker core bridge,
workflow sandbox), HTTP/validation (FastAPI, Starlette, pydantic), the rest. Alongside:
history events, workflow tasks and activities per created ticket (from their histories) and
Postgres commits per ticket (pg_stat_database). Writes bench/results/profile.json and the
raw collapsed stacks next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType

from bench.common import RESULTS_DIR, Stack, load_average, write_result
from bench.procs import process_stack

CONCURRENCY = 8
SAMPLE_HISTORIES = 10
# (bucket, substrings of a frame's "function (file:line)"), checked innermost frame first.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("payload codec (encrypt/decrypt, JSON)", ("core/codec", "cryptography", "/json/")),
    ("postgres (sqlalchemy, psycopg)", ("sqlalchemy", "psycopg")),
    (
        "workflow sandbox and workflow code",
        ("workflow_sandbox", "_workflow_instance", "workflows/"),
    ),
    ("temporal sdk (client rpc, worker bridge)", ("temporalio",)),
    ("http and validation (fastapi, starlette, pydantic)", ("fastapi", "starlette", "pydantic")),
    ("uvicorn / asyncio event loop", ("uvicorn", "asyncio")),
]
_COMMITS = text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")


def bucket_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, needles in BUCKETS:
            if any(n in frame for n in needles):
                return name
    return "other"


def breakdown(collapsed: str) -> dict[str, Any]:
    """Share of samples per bucket from py-spy's collapsed ("raw") output."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[bucket_of(stack)] += int(count)
    total = sum(counts.values())
    shares = {k: round(100 * v / total, 1) for k, v in counts.most_common()} if total else {}
    return {"samples": total, "percent": shares}


async def _commits(stack: Stack) -> int:
    async with stack.engine.connect() as conn:
        return int((await conn.execute(_COMMITS)).scalar_one())


async def history_costs(stack: Stack, workflow_ids: list[str]) -> dict[str, float]:
    """Mean history events, workflow tasks and activities of the given ticket workflows."""
    events = tasks = activities = 0
    for workflow_id in workflow_ids:
        history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            events += 1
            tasks += event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            activities += event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    n = max(1, len(workflow_ids))
    return {
        "history_events": round(events / n, 1),
        "workflow_tasks": round(tasks / n, 1),
        "activities": round(activities / n, 1),
    }


def _spy(spy: str, pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """`py-spy record` on one process for `seconds`, collapsed stacks into `out`."""
    command = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    command += ["--rate", "97", "--format", "raw", "--nonblocking", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def bench(stack: Stack, seconds: float, out_dir: Path) -> dict[str, Any]:
    procs = stack.procs
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    targets = {"api": procs.api.popen.pid, "worker": procs.worker.popen.pid}
    body = {"title": "Screen flickers", "description": "after update", "category": "bench_prof"}
    https = [stack.http(headers=stack.admin_headers) for _ in range(CONCURRENCY)]
    await https[0].post("/api/v1/tickets", json=body)  # warm-up
    spies = {
        name: _spy(spy, pid, seconds, out_dir / f"profile-{name}.txt")
        for name, pid in targets.items()
    }
    created: list[str] = []
    commits_before, load = await _commits(stack), load_average()
    deadline = time.monotonic() + seconds

    async def lane(http: Any) -> None:
        while time.monotonic() < deadline:
            response = await http.post(
                "/api/v1/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            response.raise_for_status()
            created.append(response.json()["workflow_id"])

    began = time.monotonic()
    await asyncio.gather(*(lane(h) for h in https))
    wall = time.monotonic() - began
    commits = await _commits(stack) - commits_before
    for http in https:
        await http.aclose()
    for spied in spies.values():
        await asyncio.to_thread(spied.wait, seconds + 60)
    profiles = {}
    for name in targets:
        path = out_dir / f"profile-{name}.txt"
        profiles[name] = breakdown(path.read_text()) if path.exists() else {"missing": True}
    step = max(1, len(created) // SAMPLE_HISTORIES)
    return {
        "seconds": round(wall, 1),
        "tickets": len(created),
        "per_second": round(len(created) / wall, 1),
        "postgres_commits_per_ticket": round(commits / max(1, len(created)), 1),
        "per_ticket_at_creation": await history_costs(stack, created[::step]),
        "profiles": profiles,
        "load_average_before_after": [load, load_average()],
        "shared_machine": "sampled while other work shared the cores",
    }


async def run(seconds: float) -> dict[str, Any]:
    RESULTS_DIR.mkdir(exist_ok=True)
    async with process_stack() as stack:
        return await bench(stack, seconds, RESULTS_DIR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    print(write_result("profile", asyncio.run(run(args.seconds))))  # noqa: T201


if __name__ == "__main__":
    main()
