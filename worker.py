"""Builds and runs the Temporal worker: workflows, activities and the data converter."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.tickets import TicketActivities
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from workflows.ticket import TicketWorkflow

WORKFLOWS = [TicketWorkflow]


def build_worker(client: Client, engine: AsyncEngine, settings: Settings) -> Worker:
    """The worker for our task queue; workflows are cached up to `max_cached_workflows`."""
    tickets = TicketActivities(make_sessionmaker(engine))
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=[tickets.create_ticket_record, tickets.apply_ticket_changes],
        max_cached_workflows=settings.max_cached_workflows,
    )


async def run_worker(settings: Settings) -> None:
    """Run until cancelled, then drain in-flight tasks."""
    from core.temporal import connect, metrics_runtime

    runtime = metrics_runtime(f"0.0.0.0:{settings.metrics_port}") if settings.metrics_port else None
    client = await connect(settings, runtime=runtime)
    engine = make_engine(settings.database_url)
    try:
        async with build_worker(client, engine, settings):
            await asyncio.Event().wait()
    finally:
        await engine.dispose()
