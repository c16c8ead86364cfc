"""The intake benchmark runs end to end on the test stack and reports its figures."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from bench import intake
from bench.common import Stack, percentile
from core.settings import Settings
from tests.conftest import Member


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7


async def test_intake_bench_reports_rates_ratio_and_latencies(
    app: FastAPI,
    admin: Member,
    settings: Settings,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
) -> None:
    stack = Stack(
        settings=settings,
        engine=engine,
        client=temporal_env.client,
        base_url="http://test",
        admin_headers=admin.headers,
        temporal_db=Path("unused.db"),
        full=False,
        transport=httpx.ASGITransport(app=app),
    )
    figures = await intake.bench(stack, n=3)
    assert figures["tickets"] == 3
    assert set(figures) >= {"api_create", "bare_start_workflow", "api_vs_bare_rate"}
    for side in ("api_create", "bare_start_workflow"):
        assert set(figures[side]) == {"per_second", "p50_ms", "p99_ms", "max_ms"}
