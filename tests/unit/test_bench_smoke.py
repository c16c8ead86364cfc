"""The intake benchmark runs end to end on the test stack and reports its figures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.sla.schemas import PolicyBody
from bench import idle, intake, timers
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


def test_timer_policy_is_a_valid_policy_body_with_fractional_targets() -> None:
    body = PolicyBody.model_validate(timers.policy("bench-x", timedelta(seconds=93.25)))
    first = {t.first_response for t in body.targets.values()}
    assert first == {timedelta(seconds=93.25)}
    assert body.scope is not None
    assert body.scope.categories == ["bench-x"]


def test_timer_lateness_counts_early_firings_and_percentiles() -> None:
    figures = timers.lateness([-0.001, 0.010, 0.020, 0.030])
    assert figures["fired"] == 4
    assert figures["early"] == 1
    assert figures["p50_ms"] == 10.0
    assert figures["max_ms"] == 30.0
    assert timers.lateness([])["p99_ms"] is None


def test_idle_steps_reach_50k_in_full_mode_and_can_be_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BENCH_IDLE_MAX", raising=False)
    assert idle.steps(full=True)[-1] == 50_000
    assert idle.steps(full=False)[-1] == 1_000
    monkeypatch.setenv("BENCH_IDLE_MAX", "10000")
    assert idle.steps(full=True) == [1_000, 10_000]
