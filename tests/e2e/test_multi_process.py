"""Two workers and two APIs behind one Temporal server and Postgres: nothing doubles.

Every keyed create and update goes to both APIs at once (a double submit through two
processes), retries rotate between them, and one worker and one API are SIGKILLed under
load while the others keep serving. The drill's checks then prove no ticket, timeline event,
SLA breach or escalation, notification row or delivery exists twice and none is lost.
"""

from __future__ import annotations

from chaos.drill import DrillConfig, render, run_drill


async def test_two_workers_and_two_apis_double_nothing() -> None:
    config = DrillConfig(
        seconds=15,
        seed=5,
        concurrency=4,
        singles=("worker", "api"),
        pairs=0,
        sla={"first_response": "PT2S", "resolution": "PT6S"},
        settle_timeout=60,
        op_timeout=30,
        workers=2,
        apis=2,
        twins=True,
    )

    summary = await run_drill(config, out=None)

    report = render(summary)
    assert (summary["workers"], summary["apis"]) == (2, 2)
    assert summary["operations"]["twin"] > 0, report
    assert summary["creates_acknowledged"] > 0, report
    assert summary["twin_mismatches"] == [], report
    checks = summary["checks"]
    assert checks["acked creates"]["checked"] == summary["creates_acknowledged"], report
    assert summary["lost"] == 0, report
    assert summary["duplicated"] == 0, report
