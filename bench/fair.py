"""The fair baseline: the least a durable create or update can cost with this design.

`BenchInsert` is started by update-with-start (as a ticket is): it runs one activity that
inserts one keyed row into Postgres, then returns; its `created` update answers once the
row is written, so the client waits for the same thing a ticket create waits for.
`BenchUpdatable` takes bare updates (workflow state only) and updates that persist a row.
`python -m bench.fair` runs their worker as a process of its own (DATABASE_URL,
TEMPORAL_ADDRESS); the bench process is the client, as our API is for tickets.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine

    from core.db import make_engine

FAIR_QUEUE = "closedloop-bench-fair"
_CREATE = text(
    "CREATE TABLE IF NOT EXISTS bench_fair_rows "
    "(key text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"
)
_INSERT = text("INSERT INTO bench_fair_rows (key) VALUES (:key) ON CONFLICT (key) DO NOTHING")
_PERSIST = timedelta(seconds=30)


class FairActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @activity.defn(name="bench_insert_row")
    async def insert_row(self, key: str) -> str:
        """One keyed insert, one commit (idempotent like our activities)."""
        async with self.engine.begin() as conn:
            await conn.execute(_INSERT, {"key": key})
        return key


@workflow.defn(name="BenchInsert")
class InsertWorkflow:
    """One activity inserts one row; the `created` update answers once it is written."""

    def __init__(self) -> None:
        self.written = False

    @workflow.run
    async def run(self, key: str) -> str:
        await workflow.execute_activity(
            "bench_insert_row", key, start_to_close_timeout=_PERSIST, result_type=str
        )
        self.written = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return key

    @workflow.update
    async def created(self) -> bool:
        await workflow.wait_condition(lambda: self.written)
        return True


@workflow.defn(name="BenchUpdatable")
class UpdatableWorkflow:
    """Waits for updates until stopped: `note` is the bare round trip, `persist` adds a row."""

    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done and workflow.all_handlers_finished())
        return self.count

    @workflow.update
    async def note(self, text: str) -> int:
        self.count += 1
        return self.count

    @workflow.update
    async def persist(self, key: str) -> int:
        await workflow.execute_activity(
            "bench_insert_row", key, start_to_close_timeout=_PERSIST, result_type=str
        )
        self.count += 1
        return self.count

    @workflow.signal
    def stop(self) -> None:
        self.done = True


async def insert_with_start(client: Client, key: str) -> bool:
    """The baseline create: update-with-start, returns once the row is written."""
    operation = WithStartWorkflowOperation(
        InsertWorkflow.run,
        key,
        id=f"bench-fair-{key}",
        task_queue=FAIR_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return await client.execute_update_with_start_workflow(
        InsertWorkflow.created, start_workflow_operation=operation
    )


async def serve() -> None:
    """Run the baseline worker until killed."""
    engine = make_engine(os.environ["DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.execute(_CREATE)
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])
    acts = FairActivities(engine)
    async with Worker(
        client,
        task_queue=FAIR_QUEUE,
        workflows=[InsertWorkflow, UpdatableWorkflow],
        activities=[acts.insert_row],
    ):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
