"""Simulator throughput: 100k stored ticket histories through the candidate policy.

`python -m bench.simulator`. Rows are generated in PostgreSQL (one INSERT … SELECT): tickets on
the seeded policy with varied facts (answered or not, paused, resolved, some urgent). The
figure is `POST /sla-policies/simulate` over HTTP; the baselines, in the same run, are
streaming the same rows without computing and the same computation in one process.
Writes bench/results/simulator.json.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from activities.sla_binding import binding_for, policy_from_body
from api.sla.schemas import PolicyBody
from api.sla.simulator import CHUNK
from bench.common import Stack, run_alone
from domain.sla_simulation import Tally, simulate_chunk
from models import SlaPolicy

HISTORIES = 100_000
START = datetime(2026, 9, 1, tzinfo=UTC)

# Facts per ticket i (minutes after creation): answered at 30..269 min for 4 of 5, paused for
# 3 h in 1 of 3, resolved at 6..53 h in 1 of 2.
_INSERT = """
INSERT INTO tickets (number, workflow_id, title, description, category, priority, status,
    channel, created_at, updated_at, sla_binding, sla_events, policy_id, policy_version,
    calendar_version, department_id)
SELECT 'FBSIM' || i, 'bench-sim-' || i, 't', 'd', :category,
    CASE WHEN i % 7 = 0 THEN 'urgent' ELSE 'normal' END, 'processing', 'staff', c, c,
    CAST(:binding AS jsonb),
    jsonb_build_array(
        jsonb_build_object('kind', 'created', 'at', to_json(c),
            'priority', CASE WHEN i % 7 = 0 THEN 'urgent' ELSE 'normal' END))
    || CASE WHEN i % 5 <> 0 THEN jsonb_build_array(
        jsonb_build_object('kind', 'first_response',
            'at', to_json(c + make_interval(mins => 30 + i % 240))),
        jsonb_build_object('kind', 'progress',
            'at', to_json(c + make_interval(mins => 30 + i % 240)))) ELSE '[]'::jsonb END
    || CASE WHEN i % 3 = 0 THEN jsonb_build_array(
        jsonb_build_object('kind', 'paused', 'at', to_json(c + interval '5 hours')),
        jsonb_build_object('kind', 'resumed', 'at', to_json(c + interval '8 hours')))
        ELSE '[]'::jsonb END
    || CASE WHEN i % 2 = 0 THEN jsonb_build_array(
        jsonb_build_object('kind', 'resolved',
            'at', to_json(c + make_interval(hours => 6 + i % 48))))
        ELSE '[]'::jsonb END,
    1, 1, 1, NULL
FROM generate_series(1, :n) AS i, LATERAL (SELECT :start + make_interval(mins => i % 40000) AS c) t
"""


def candidate() -> dict[str, Any]:
    """The seeded policy with first responses halved and resolutions a third shorter."""
    return {
        "name": "candidate",
        "calendar_id": 1,
        "targets": {
            "urgent": {"first_response": "PT1H", "resolution": "PT16H"},
            "normal": {"first_response": "PT2H", "resolution": "PT32H"},
            "low": {"first_response": "PT6H", "resolution": "PT48H"},
        },
        "warn_at": 0.8,
        "escalation": [],
        "tracking": {"urgent": "PT24H", "normal": "P3D", "low": "P7D"},
    }


async def _seed(stack: Stack, category: str) -> dict[str, Any]:
    async with stack.engine.begin() as conn:
        await conn.execute(text("SET LOCAL timezone = 'UTC'"))
        async with AsyncSession(bind=conn) as session:
            policy = await session.get(SlaPolicy, 1)
            assert policy is not None
            bound = await binding_for(session, policy, 1, range(2026, 2028))
        binding = {
            "policy": bound.policy.model_dump(mode="json"),
            "calendar": bound.calendar.model_dump(mode="json"),
            "calendar_version": 1,
        }
        await conn.execute(
            text(_INSERT),
            {"category": category, "binding": json.dumps(binding), "n": HISTORIES, "start": START},
        )
        await conn.execute(text("ANALYZE tickets"))
    return binding


async def _stream_only(stack: Stack, category: str) -> tuple[int, float]:
    """The same rows streamed in the same chunks, nothing computed."""
    began, n = time.perf_counter(), 0
    async with stack.engine.connect() as conn:
        result = await conn.stream(
            text(
                "SELECT id, number, priority, department_id, sla_events::text FROM tickets "
                "WHERE category = :c"
            ).execution_options(yield_per=CHUNK),
            {"c": category},
        )
        async for part in result.partitions(CHUNK):
            n += len(part)
    return n, time.perf_counter() - began


async def _one_process(stack: Stack, category: str, binding: dict[str, Any]) -> float:
    """Histories/s of the same computation in this process alone (no pool), on 20k rows."""

    body = PolicyBody.model_validate(candidate())
    cand = policy_from_body(0, 0, "candidate", body.model_dump(mode="json")).model_dump_json()
    bindings = {"1:1:1:2026": (json.dumps(binding["policy"]), json.dumps(binding["calendar"]))}
    async with stack.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, number, priority, department_id, sla_events::text FROM tickets "
                    "WHERE category = :c ORDER BY id LIMIT 20000"
                ),
                {"c": category},
            )
        ).all()
    chunk = [(r[0], r[1], r[2], r[3], "1:1:1:2026", r[4]) for r in rows]
    began = time.perf_counter()
    tally: Tally = simulate_chunk(cand, None, bindings, chunk, datetime.now(UTC))
    return round(tally.evaluated / (time.perf_counter() - began))


async def bench(stack: Stack) -> dict[str, Any]:
    category = "bench_simulator"
    seed_began = time.perf_counter()
    binding = await _seed(stack, category)
    seeded = time.perf_counter() - seed_began
    body = {
        "policy": candidate(),
        "since": (START - timedelta(days=1)).isoformat(),
        "until": (START + timedelta(days=60)).isoformat(),
        "category": category,
    }
    async with stack.http(headers=stack.admin_headers) as http:
        # The first run also spawns the process pool and parses the policies once per process.
        began = time.perf_counter()
        first = await http.post("/api/v1/sla-policies/simulate", json=body)
        first_wall = time.perf_counter() - began
        first.raise_for_status()
        began = time.perf_counter()
        response = await http.post("/api/v1/sla-policies/simulate", json=body)
        wall = time.perf_counter() - began
        response.raise_for_status()
    answer = response.json()
    streamed, stream_wall = await _stream_only(stack, category)
    single = await _one_process(stack, category, binding)
    rate = answer["evaluated"] / wall
    return {
        "histories": answer["evaluated"],
        "seed_seconds": round(seeded, 1),
        "first_run_wall_seconds": round(first_wall, 2),
        "simulate_wall_seconds": round(wall, 2),
        "server_elapsed_ms": answer["elapsed_ms"],
        "histories_per_second": round(rate),
        "goal_histories_per_second": 20_000,
        "summary": answer["summary"],
        "changed_listed": len(answer["changed"]),
        "baseline_stream_only_rows_per_second": round(streamed / stream_wall),
        "baseline_one_process_histories_per_second": single,
        "pool_vs_one_process": round(rate / single, 2) if single else None,
    }


if __name__ == "__main__":
    run_alone("simulator", bench)
