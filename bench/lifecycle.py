"""What one ticket costs in Temporal: history events and billable actions per lifecycle.

`python -m bench.lifecycle` runs, on a time-skipping server with a throwaway Postgres,
(a) the standard lifecycle and (b) an urgent ticket that breaches and climbs two escalation
steps, then counts from each history; a bare one-activity workflow run in the same process is
the baseline. Prints JSON and writes bench/results/lifecycle.json.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import temporalio
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.replay.record import (
    finished_history,
    standard_lifecycle,
    time_skipping_stack,
    urgent_escalations,
)

RESULTS = Path(__file__).resolve().parent / "results" / "lifecycle.json"
BASELINE_QUEUE = "closedloop-bench-baseline"
E = EventType


@activity.defn(name="bench_noop")
async def noop() -> str:
    return "done"


@workflow.defn(name="BenchBaseline")
class BaselineWorkflow:
    """The cheapest useful workflow: start, one activity, complete."""

    @workflow.run
    async def run(self) -> str:
        return str(
            await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))
        )


def cost(history: WorkflowHistory) -> dict[str, int]:
    """History size and Temporal Cloud billable actions by kind, counted from the events."""
    kinds = Counter(event.event_type for event in history.events)
    attempts = sum(
        event.activity_task_started_event_attributes.attempt
        for event in history.events
        if event.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED
    )
    actions = {
        "workflow_started": kinds[E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED],
        "updates_accepted": kinds[E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED],
        # Validator rejections are billed but never written to history; these paths make none.
        "updates_rejected": kinds[E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED],
        "signals": kinds[E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED],
        "timers_started": kinds[E.EVENT_TYPE_TIMER_STARTED],
        "activity_attempts": attempts,
        "search_attribute_upserts": kinds[E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES],
    }
    return {
        "history_events": len(history.events),
        "billable_actions": sum(actions.values()),
        **actions,
        # Not billed, shown to explain the figures above.
        "timers_fired": kinds[E.EVENT_TYPE_TIMER_FIRED],
        "timers_canceled": kinds[E.EVENT_TYPE_TIMER_CANCELED],
        "workflow_tasks": kinds[E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED],
    }


async def baseline_history(client: Client) -> WorkflowHistory:
    # Unsandboxed: the workflow is trivial, and the sandbox would re-import this module's imports.
    async with Worker(
        client,
        task_queue=BASELINE_QUEUE,
        workflows=[BaselineWorkflow],
        activities=[noop],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(
            BaselineWorkflow.run, id=f"bench-baseline-{uuid.uuid4().hex}", task_queue=BASELINE_QUEUE
        )
        await handle.result()
        return await handle.fetch_history()


def with_ratios(figures: dict[str, int], base: dict[str, int]) -> dict[str, Any]:
    return {
        **figures,
        "events_vs_baseline": round(figures["history_events"] / base["history_events"], 2),
        "actions_vs_baseline": round(figures["billable_actions"] / base["billable_actions"], 2),
    }


async def measure() -> dict[str, Any]:
    async with time_skipping_stack("closedloop-bench") as desk:
        base = cost(await baseline_history(desk.client))
        standard = cost(await finished_history(await standard_lifecycle(desk)))
        escalated = cost(await finished_history(await urgent_escalations(desk)))
    return {
        "temporalio": temporalio.__version__,
        "baseline": {"scenario": "start, one activity, complete", **base},
        "standard_lifecycle": {
            "scenario": "create, assign, public comment, processing, resolved, satisfied, closed",
            **with_ratios(standard, base),
        },
        "two_escalations": {
            "scenario": (
                "urgent left alone 6.5 h (warning, breach, escalation steps 0 and 1), then "
                "comment, processing, resolved, satisfied, closed"
            ),
            **with_ratios(escalated, base),
        },
    }


def main() -> None:
    figures = asyncio.run(measure())
    text = json.dumps(figures, indent=2)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
