"""Builds and runs the Temporal worker: workflows, activities and the data converter."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.customer_import import CustomerImportActivities
from activities.customers import CustomerActivities
from activities.dispatch import DispatchActivities
from activities.followups import FollowUpActivities
from activities.notify import DeliveryStarter, NotifyActivities
from activities.policy_rollout import RolloutActivities
from activities.quotes import QuoteActivities
from activities.report_runs import ReportRunActivities
from activities.service_orders import ServiceOrderActivities
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
from workflows.policy_rollout import PolicyRolloutWorkflow
from workflows.quote import QuoteWorkflow
from workflows.report_run import ReportRunWorkflow
from workflows.segments import SegmentRecomputeWorkflow, ensure_segment_schedule
from workflows.service_order import ServiceOrderWorkflow
from workflows.ticket import TicketWorkflow

WORKFLOWS = [
    CustomerApprovalWorkflow,
    CustomerImportWorkflow,
    FollowUpPlanWorkflow,
    NotificationDelivery,
    PolicyRolloutWorkflow,
    ReportRunWorkflow,
    SegmentRecomputeWorkflow,
    TicketWorkflow,
    QuoteWorkflow,
    ServiceOrderWorkflow,
]


class Workers:
    """Several workers started and drained together (`async with`)."""

    def __init__(self, *workers: Worker) -> None:
        self.workers = workers
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Workers:
        for worker in self.workers:
            await self._stack.enter_async_context(worker)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()


def build_delivery_worker(client: Client, notify: NotifyActivities, settings: Settings) -> Worker:
    """NotificationDelivery and its activities on their own queue and slots: a slow receiver
    holds only delivery slots, never the ticket workflows' timers and updates."""
    return Worker(
        client,
        task_queue=settings.delivery_task_queue,
        workflows=[NotificationDelivery],
        activities=[notify.deliver_notification, notify.fail_notification],
        max_concurrent_activities=settings.notify_max_concurrent_deliveries,
        max_cached_workflows=min(settings.max_cached_workflows, 200),
        workflow_runner=_runner(settings),
    )


def build_worker(client: Client, engine: AsyncEngine, settings: Settings) -> Workers:
    """The workers for our task queues: cache size, slots and pollers come from the settings."""
    pii.configure(settings)  # the keyring of sealed contact fields
    notifier = DeliveryStarter(client, make_sessionmaker(engine), settings)
    tickets = TicketActivities(make_sessionmaker(engine), notifier)
    notify = NotifyActivities(make_sessionmaker(engine), settings)
    customers = CustomerActivities(make_sessionmaker(engine), settings.timezone)
    dispatch = DispatchActivities(make_sessionmaker(engine))
    caps = {CustomerTier(tier): cap for tier, cap in settings.push_monthly_caps.items()}
    reports = ReportRunActivities(make_sessionmaker(engine), notifier, settings.report_font_path)
    followups = FollowUpActivities(make_sessionmaker(engine), client, caps, notifier)
    rollouts = RolloutActivities(make_sessionmaker(engine), client)
    imports = CustomerImportActivities(
        make_sessionmaker(engine), storage_for(settings), settings, client
    )
    quotes = QuoteActivities(make_sessionmaker(engine), settings)
    orders = ServiceOrderActivities(make_sessionmaker(engine), settings)
    main = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        # NotificationDelivery stays here too: deliveries started before they had a queue
        # of their own finish on this one.
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
            rollouts.count_rollout,
            rollouts.rebind_page,
            rollouts.finish_rollout,
            reports.render_report_run,
            reports.mail_report_run,
            imports.run_customer_import,
            imports.finish_customer_import,
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
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_local_activities=settings.worker_max_concurrent_local_activities,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(
            settings.worker_workflow_task_pollers
        ),
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(
            settings.worker_activity_task_pollers
        ),
        workflow_runner=_runner(settings),
    )
    return Workers(main, build_delivery_worker(client, notify, settings))


def _runner(settings: Settings) -> SandboxedWorkflowRunner:
    restrictions = SandboxRestrictions.default
    if settings.worker_sandbox_passthrough_all:
        restrictions = restrictions.with_passthrough_all_modules()
    return SandboxedWorkflowRunner(restrictions=restrictions)


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
