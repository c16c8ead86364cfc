"""The sales benchmark runs end to end at a tiny size on the test stack."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from bench import sales
from bench.common import Stack
from core.settings import Settings
from tests.conftest import Member


async def test_sales_bench_reports_search_and_approval_latencies(
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
    figures = await sales.bench(stack, articles=20, rounds=3)
    search = figures["kb_search"]
    assert search["articles"] == 20
    assert set(search["api_search"]) == {"p50_ms", "p99_ms", "max_ms"}
    assert search["search_vs_get_p99_ratio"] > 0
    assert figures["quote_approval"]["quotes"] == 3
    assert figures["quote_approval"]["create_to_approval_request"]["p50_ms"] > 0
