"""Trivial workflows on the same server: the bare-Temporal baselines the benches compare to."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

BASELINE_QUEUE = "closedloop-bench-baseline"


@activity.defn(name="bench_persist_noop")
async def persist_noop(value: str) -> str:
    return value


@workflow.defn(name="BenchEmpty")
class EmptyWorkflow:
    """Starts and completes: the cheapest workflow there is."""

    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn(name="BenchUpdatable")
class UpdatableWorkflow:
    """Waits for updates until told to stop; `note` is the bare round trip, `persist` adds one
    activity like a ticket update does."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done and workflow.all_handlers_finished())
        return len(self.notes)

    @workflow.update
    async def note(self, text: str) -> int:
        self.notes.append(text)
        return len(self.notes)

    @workflow.update
    async def persist(self, text: str) -> int:
        await workflow.execute_activity(
            persist_noop, text, start_to_close_timeout=timedelta(seconds=30)
        )
        self.notes.append(text)
        return len(self.notes)

    @workflow.signal
    def stop(self) -> None:
        self.done = True


@contextlib.asynccontextmanager
async def baseline_worker(client: Client) -> AsyncIterator[None]:
    """A worker for the baseline workflows (unsandboxed: they are trivial)."""
    async with Worker(
        client,
        task_queue=BASELINE_QUEUE,
        workflows=[EmptyWorkflow, UpdatableWorkflow],
        activities=[persist_noop],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        yield
