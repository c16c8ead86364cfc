"""Builds and runs the Temporal worker: workflows, activities and the data converter."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.customers import CustomerActivities
from activities.dispatch import DispatchActivities
from activities.followups import FollowUpActivities
from activities.notify import DeliveryStarter, NotifyActivities
from activities.quotes import QuoteActivities
from activities.service_orders import ServiceOrderActivities
from activities.tickets import TicketActivities
from core import pii
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from domain.customers import CustomerTier
from workflows.customer_approval import CustomerApprovalWorkflow
from workflows.followup import FollowUpPlanWorkflow
from workflows.notification import NotificationDelivery
from workflows.quote import QuoteWorkflow
from workflows.segments import SegmentRecomputeWorkflow, ensure_segment_schedule
from workflows.service_order import ServiceOrderWorkflow
from workflows.ticket import TicketWorkflow

WORKFLOWS = [
    CustomerApprovalWorkflow,
    FollowUpPlanWorkflow,
    NotificationDelivery,
    SegmentRecomputeWorkflow,
    TicketWorkflow,
    QuoteWorkflow,
    ServiceOrderWorkflow,
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
    quotes = QuoteActivities(make_sessionmaker(engine), settings)
    orders = ServiceOrderActivities(make_sessionmaker(engine), settings)
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
            quotes.submit_quote,
            quotes.notify_quote_step,
            quotes.record_quote_decision,
            quotes.send_quote,
            quotes.record_quote_response,
            quotes.expire_quote,
            orders.alert_service_stage,
            orders.complete_service_stage,
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
