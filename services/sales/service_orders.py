"""Service orders: creation with stages, scoping, stage completion through the workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api.customers.access import get_customer, read_scope
from api.deps import Principal
from core.errors import Invalid, NotFound
from core.settings import Settings
from domain.sales.quotes import QuoteStatus
from domain.sales.service_orders import DEFAULT_STAGES, StagePlan, StageStatus, stage_deadlines
from models import Customer, Quote, ServiceOrder, ServiceOrderStage, User
from services.sales.records import allocate_sales_number, remember, replayed
from services.sales.workflow_calls import run_update
from workflows.service_order import ServiceOrderWorkflow, service_order_workflow_id
from workflows.service_order_types import (
    CompleteStageInput,
    OrderView,
    ServiceOrderInput,
    StageIn,
)


async def _check_user(session: AsyncSession, field: str, user_id: int) -> None:
    if await session.get(User, user_id) is None:
        raise Invalid(field, f"user {user_id} does not exist")


async def create_order(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    principal: Principal,
    body: Any,
    key: str | None,
    fingerprint: str,
) -> int:
    """Insert the order and its stages, then start its workflow (idempotent on both)."""
    scope = f"service-order:{principal.user_id}"
    seen = await replayed(session, scope, key, fingerprint)
    if seen is not None:
        order = await session.get(ServiceOrder, int(seen))
        assert order is not None
    else:
        order = await _insert(session, settings, principal, body)
        await remember(session, scope, key, fingerprint, str(order.id))
        await session.commit()
    await start_order_workflow(session, client, settings, order)
    return order.id


async def _insert(
    session: AsyncSession, settings: Settings, principal: Principal, body: Any
) -> ServiceOrder:
    customer = await get_customer(session, principal, body.customer_id)
    await _check_user(session, "body.owner_id", body.owner_id)
    if body.quote_id is not None:
        quote = await session.get(Quote, body.quote_id)
        if quote is None or quote.customer_id != customer.id:
            raise Invalid("body.quote_id", "the quote does not belong to this customer")
        if quote.status != QuoteStatus.ACCEPTED:
            raise Invalid("body.quote_id", "only an accepted quote becomes a service order")
    plans = list(DEFAULT_STAGES)
    if body.stages:
        plans = []
        for i, s in enumerate(body.stages):
            if s.owner_id is not None:
                await _check_user(session, f"body.stages.{i}.owner_id", s.owner_id)
            plans.append(StagePlan(s.name, s.due_in, s.owner_id))
    number = await allocate_sales_number(session, "SO", settings.timezone)
    order = ServiceOrder(
        number=number,
        customer_id=customer.id,
        quote_id=body.quote_id,
        title=body.title,
        owner_id=body.owner_id,
        department_id=customer.department_id or principal.department_id,
        status="in_progress",
        current_stage=0,
        workflow_id="",
        created_by=principal.user_id,
    )
    session.add(order)
    await session.flush()
    order.workflow_id = service_order_workflow_id(order.id)
    deadlines = stage_deadlines(datetime.now(UTC), plans)
    for index, (plan, due) in enumerate(zip(plans, deadlines, strict=True)):
        session.add(
            ServiceOrderStage(
                order_id=order.id,
                index=index,
                name=plan.name,
                owner_id=plan.owner_id or body.owner_id,
                status=StageStatus.IN_PROGRESS if index == 0 else StageStatus.PENDING,
                due_at=due,
                attachment_ids=[],
            )
        )
    return order


async def start_order_workflow(
    session: AsyncSession, client: Client, settings: Settings, order: ServiceOrder
) -> None:
    stages = await stages_of(session, order.id)
    inp = ServiceOrderInput(
        order_id=order.id,
        number=order.number,
        owner_id=order.owner_id,
        stages=[
            StageIn(index=s.index, name=s.name, due_at=s.due_at, owner_id=s.owner_id or 0)
            for s in stages
        ],
        remind_before_seconds=settings.stage_remind_before_seconds,
    )
    await client.start_workflow(
        ServiceOrderWorkflow.run,
        inp,
        id=order.workflow_id,
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def stages_of(session: AsyncSession, order_id: int) -> list[ServiceOrderStage]:
    found = await session.scalars(
        select(ServiceOrderStage)
        .where(ServiceOrderStage.order_id == order_id)
        .order_by(ServiceOrderStage.index)
        .execution_options(populate_existing=True)
    )
    return list(found)


async def get_order(session: AsyncSession, principal: Principal, order_id: int) -> ServiceOrder:
    query = select(ServiceOrder).join(Customer, Customer.id == ServiceOrder.customer_id)
    query = query.where(ServiceOrder.id == order_id)
    condition = read_scope(principal)
    if condition is not None:
        owned = (ServiceOrder.owner_id == principal.user_id) | condition
        query = query.where(owned)
    order = await session.scalar(query.execution_options(populate_existing=True))
    if order is None:
        raise NotFound(f"service order {order_id} not found")
    return order


async def complete_stage(
    client: Client,
    settings: Settings,
    principal: Principal,
    order: ServiceOrder,
    index: int,
    note: str,
    attachment_ids: list[int],
) -> OrderView:
    arg = CompleteStageInput(
        index=index, note=note, attachment_ids=attachment_ids, actor_id=principal.user_id
    )
    return await run_update(
        client,
        settings,
        order.workflow_id,
        "complete_stage",
        arg,
        OrderView,
        closed_message=f"service order {order.number} is complete",
    )


def order_view(order: ServiceOrder, stages: list[ServiceOrderStage]) -> dict[str, Any]:
    return {
        "id": order.id,
        "number": order.number,
        "customer_id": order.customer_id,
        "quote_id": order.quote_id,
        "title": order.title,
        "owner_id": order.owner_id,
        "status": order.status,
        "current_stage": order.current_stage,
        "completed_at": order.completed_at,
        "workflow_id": order.workflow_id,
        "stages": [
            {
                "index": s.index,
                "name": s.name,
                "owner_id": s.owner_id,
                "status": s.status,
                "due_at": s.due_at,
                "completed_at": s.completed_at,
                "note": s.note,
                "attachment_ids": s.attachment_ids,
            }
            for s in stages
        ],
    }


def due_in_limit(value: timedelta) -> bool:
    return timedelta(minutes=1) <= value <= timedelta(days=3650)
