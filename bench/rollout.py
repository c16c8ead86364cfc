"""Rollout rate: open tickets rebound per second by `rebind_open`, vs bare Temporal updates.

`python -m bench.rollout`. Opens N tickets under a policy scoped to the bench's category,
saves a tighter version and publishes it with `rebind_open` (the PolicyRolloutWorkflow on the
stack's worker: keyset pages, bounded concurrent Updates, each ticket persisting one
`policy_rebound` event). The baseline in the same run sends the same number of bare updates
(state only) to as many trivial workflows, with the same concurrency, and the same with one
activity per update (a rebind persists its event through one).
Writes bench/results/rollout.json.
"""

from __future__ import annotations

import asyncio
import copy
import time
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from api.deps import Principal
from api.sla import rollout_service
from api.sla.admin_schemas import RolloutMode
from bench.baseline import BASELINE_QUEUE, UpdatableWorkflow, baseline_worker
from bench.common import Stack, admin_user_id, open_tickets_direct, run_alone, timed_concurrently
from models import PolicyRollout, SlaPolicy, SlaPolicyVersion
from workflows.rollout_types import CONCURRENCY

BODY: dict[str, Any] = {
    "targets": {
        "urgent": {"first_response": "PT2H", "resolution": "PT24H"},
        "normal": {"first_response": "PT4H", "resolution": "PT48H"},
        "low": {"first_response": "PT12H", "resolution": "PT72H"},
    },
    "warn_at": 0.8,
    "escalation": [],
    "tracking": {"urgent": "PT24H", "normal": "P3D", "low": "P7D"},
    "revisit": {"confirm_within": "P3D"},
}


async def _policy(stack: Stack, category: str) -> int:
    tighter = copy.deepcopy(BODY)
    tighter["targets"]["normal"] = {"first_response": "PT1H", "resolution": "PT8H"}
    async with async_sessionmaker(stack.engine).begin() as session:
        policy = SlaPolicy(name=category, scope={"categories": [category]}, current_version=1)
        session.add(policy)
        await session.flush()
        for version, body in ((1, BODY), (2, tighter)):
            session.add(
                SlaPolicyVersion(policy_id=policy.id, version=version, calendar_id=1, body=body)
            )
        return policy.id


async def _rollout(stack: Stack, policy_id: int, admin_id: int) -> tuple[PolicyRollout, float]:
    sessions = async_sessionmaker(stack.engine, expire_on_commit=False)
    caller = Principal(user_id=admin_id, role="admin", department_id=None)
    began = time.perf_counter()
    async with sessions() as session:
        out = await rollout_service.publish(
            session,
            stack.client,
            stack.settings.temporal_task_queue,
            caller,
            policy_id,
            RolloutMode.REBIND_OPEN,
            2,
        )
    while True:
        async with sessions() as session:
            row = await session.get(PolicyRollout, out.rollout_id)
            assert row is not None
            if row.status != "running":
                return row, time.perf_counter() - began
        await asyncio.sleep(0.05)


async def _bare_updates(stack: Stack, n: int, update: str) -> float:
    async with baseline_worker(stack.client):
        handles = [
            await stack.client.start_workflow(
                UpdatableWorkflow.run,
                id=f"bench-rollout-base-{uuid.uuid4().hex[:8]}-{i}",
                task_queue=BASELINE_QUEUE,
            )
            for i in range(n)
        ]

        async def one(i: int) -> None:
            await handles[i].execute_update(update, f"v2 {i}")

        wall, _ = await timed_concurrently(n, CONCURRENCY, one)
        for handle in handles:
            await handle.signal(UpdatableWorkflow.stop)
    return wall


async def bench(stack: Stack) -> dict[str, Any]:
    n = 2000 if stack.full else 300
    category = f"bench_rollout_{uuid.uuid4().hex[:6]}"
    policy_id = await _policy(stack, category)
    admin_id = await admin_user_id(stack)
    await open_tickets_direct(stack, n, category, assignee_id=admin_id)
    row, wall = await _rollout(stack, policy_id, admin_id)
    bare_wall = await _bare_updates(stack, n, "note")
    persist_wall = await _bare_updates(stack, n, "persist")
    rate, bare_rate = row.rebound / wall, n / bare_wall
    return {
        "tickets": n,
        "concurrency": CONCURRENCY,
        "rollout": {
            "status": row.status,
            "total": row.total,
            "rebound": row.rebound,
            "skipped": row.skipped,
            "failed": row.failed,
            "wall_seconds": round(wall, 2),
            "per_second": round(rate, 1),
        },
        "bare_update": {"wall_seconds": round(bare_wall, 2), "per_second": round(bare_rate, 1)},
        "bare_update_with_activity": {
            "wall_seconds": round(persist_wall, 2),
            "per_second": round(n / persist_wall, 1),
        },
        "rollout_vs_bare_rate": round(rate / bare_rate, 2),
        "rollout_vs_update_with_activity_rate": round(rate / (n / persist_wall), 2),
        "goal_ratio": 0.5,
    }


if __name__ == "__main__":
    run_alone("rollout", bench)
