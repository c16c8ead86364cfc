"""A short fault drill: SIGKILL the worker, the API and Postgres under load; nothing is lost."""

from __future__ import annotations

from chaos.drill import DrillConfig, render, run_drill


async def test_killing_worker_api_and_postgres_under_load_loses_and_doubles_nothing() -> None:
    config = DrillConfig(
        seconds=15,
        seed=11,
        concurrency=4,
        singles=("worker", "api", "postgres"),
        pairs=0,
        sla={"first_response": "PT2S", "resolution": "PT6S"},
        settle_timeout=60,
        op_timeout=30,
    )

    summary = await run_drill(config, out=None)

    report = render(summary)
    assert len(summary["faults"]) == 3, report
    assert summary["creates_acknowledged"] > 0, report
    assert summary["checks"]["acked creates"]["checked"] == summary["creates_acknowledged"]
    assert summary["lost"] == 0, report
    assert summary["duplicated"] == 0, report
