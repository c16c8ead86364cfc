"""Builds and runs the Temporal worker: workflows, activities and the data converter."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.customer_import import CustomerImportActivities
from activities.customers import CustomerActivities
from activities.dispatch import DispatchActivities
from activities.followups import FollowUpActivities
from activities.notify import DeliveryStarter, NotifyActivities
from activities.tickets import TicketActivities
from core import pii
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from domain.customers import CustomerTier
from services.attachments.storage import storage_for
from workflows.customer_approval import CustomerApprovalWorkflow
from workflows.customer_import import CustomerImportWorkflow
from workflows.followup import FollowUpPlanWorkflow
from workflows.notification import NotificationDelivery
from workflows.segments import SegmentRecomputeWorkflow, ensure_segment_schedule
from workflows.ticket import TicketWorkflow

WORKFLOWS = [
    CustomerApprovalWorkflow,
    CustomerImportWorkflow,
    FollowUpPlanWorkflow,
    NotificationDelivery,
    SegmentRecomputeWorkflow,
    TicketWorkflow,
]


def build_worker(client: Client, engine: AsyncEngine, settings: Settings) -> Worker:
    """The worker for our task queue; workflows are cached up to `max_cached_workflows`."""
    pii.configure(settings)  # the keyring of sealed contact fields
    notifier = DeliveryStarter(client, make_sessionmaker(engine), settings)
    tickets = TicketActivities(make_sessionmaker(engine), notifier)
    notify = NotifyActivities(make_sessionmaker(engine), settings)
    customers = CustomerActivities(make_sessionmaker(engine), settings.timezone)
    dispatch = DispatchActivities(make_sessionmaker(engine))
    caps = {CustomerTier(tier): cap for tier, cap in settings.push_monthly_caps.items()}
    followups = FollowUpActivities(make_sessionmaker(engine), client, caps, notifier)
    imports = CustomerImportActivities(
        make_sessionmaker(engine), storage_for(settings), settings, client
    )
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=[
            tickets.create_ticket_record,
            tickets.apply_ticket_changes,
            customers.remind_customer_approval,
            customers.record_customer_decision,
            dispatch.dispatch_ticket,
            notify.deliver_notification,
            notify.fail_notification,
            followups.load_plan_facts,
            followups.create_plan_record,
            followups.apply_plan_changes,
            followups.push_to_customer,
            followups.recompute_segments,
            imports.run_customer_import,
            imports.finish_customer_import,
        ],
        max_cached_workflows=settings.max_cached_workflows,
    )


async def run_worker(settings: Settings) -> None:
    """Run until cancelled, then drain in-flight tasks."""
    from core.temporal import connect, metrics_runtime

    runtime = metrics_runtime(f"0.0.0.0:{settings.metrics_port}") if settings.metrics_port else None
    client = await connect(settings, runtime=runtime)
    engine = make_engine(settings.database_url)
    await ensure_segment_schedule(client, settings.temporal_task_queue)
    try:
        async with build_worker(client, engine, settings):
            await asyncio.Event().wait()
    finally:
        await engine.dispose()
