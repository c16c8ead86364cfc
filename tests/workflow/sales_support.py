"""Quote and service-order fixtures for the time-skipping tests: rows, workflows, settling."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowHandle

from core.temporal import start_until_created
from models import (
    Customer,
    Notification,
    Quote,
    QuoteEvent,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceOrderStage,
)
from services.sales.service_orders import start_order_workflow
from tests.workflow.conftest import _CLOSES, _OPENS, SETTLE_TIMEOUT, Desk
from workflows.quote import QuoteWorkflow, quote_workflow_id
from workflows.quote_types import QuoteInput, QuoteStep, QuoteView
from workflows.service_order import service_order_workflow_id


async def settle(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until the worker finished every task and activity the workflow has open."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT
    while True:
        history = await handle.fetch_history()
        balance = dict.fromkeys(_OPENS.values(), 0)
        for event in history.events:
            if event.event_type in _OPENS:
                balance[_OPENS[event.event_type]] += 1
            elif event.event_type in _CLOSES:
                balance[_CLOSES[event.event_type]] -= 1
        if not any(n > 0 for n in balance.values()):
            return
        if loop.time() > deadline:
            raise AssertionError(f"{handle.id} still has open work: {balance}")
        await asyncio.sleep(0.02)


async def advance(desk: Desk, handle: WorkflowHandle[Any, Any], delta: timedelta) -> None:
    await desk.env.sleep(delta)
    await settle(handle)


async def new_customer(desk: Desk, name: str = "杭州云帆科技有限公司") -> int:
    async with desk.sessions.begin() as session:
        customer = Customer(code=f"CUS{uuid.uuid4().hex[:12]}", name=name, approval="approved")
        session.add(customer)
        await session.flush()
        return customer.id


async def new_quote(
    desk: Desk, created_by: int, valid_until: datetime, total: str = "80000.00"
) -> int:
    async with desk.sessions.begin() as session:
        quote = Quote(
            number=f"QT{uuid.uuid4().hex[:10]}",
            version=1,
            customer_id=await new_customer(desk),
            currency="CNY",
            valid_until=valid_until,
            status="draft",
            subtotal=Decimal(total),
            discount_total=Decimal(0),
            total=Decimal(total),
            max_discount_pct=Decimal(0),
            approval_steps=[],
            escalated=False,
            created_by=created_by,
        )
        session.add(quote)
        await session.flush()
        return quote.id


async def submit(
    desk: Desk,
    quote_id: int,
    steps: list[QuoteStep],
    valid_until: datetime,
    max_reminders: int = 14,
) -> WorkflowHandle[Any, Any]:
    inp = QuoteInput(
        quote_id=quote_id,
        number="QT-test",
        version=1,
        valid_until=valid_until,
        steps=steps,
        actor="user:1",
        remind_every_seconds=86_400,
        escalate_after_reminders=2,
        max_reminders=max_reminders,
    )
    await start_until_created(
        desk.client,
        desk.settings,
        QuoteWorkflow.run,
        inp,
        workflow_id=quote_workflow_id(quote_id),
        result_type=QuoteView,
        what="quote",
    )
    handle = desk.client.get_workflow_handle(quote_workflow_id(quote_id))
    await settle(handle)
    return handle


async def quote_row(desk: Desk, quote_id: int) -> Quote:
    async with desk.sessions() as session:
        quote = await session.get(Quote, quote_id)
        assert quote is not None
        return quote


async def quote_events(desk: Desk, quote_id: int) -> list[QuoteEvent]:
    async with desk.sessions() as session:
        found = await session.scalars(
            select(QuoteEvent).where(QuoteEvent.quote_id == quote_id).order_by(QuoteEvent.id)
        )
        return list(found)


async def order_events(desk: Desk, order_id: int) -> list[ServiceOrderEvent]:
    async with desk.sessions() as session:
        found = await session.scalars(
            select(ServiceOrderEvent)
            .where(ServiceOrderEvent.order_id == order_id)
            .order_by(ServiceOrderEvent.id)
        )
        return list(found)


async def notices(desk: Desk, template: str, user_id: int) -> list[Notification]:
    async with desk.sessions() as session:
        found = await session.scalars(
            select(Notification).where(
                Notification.template == template, Notification.user_id == user_id
            )
        )
        return list(found)


async def new_service_order(desk: Desk, owner_id: int, days: list[int]) -> int:
    now = await desk.now()
    customer_id = await new_customer(desk)
    async with desk.sessions.begin() as session:
        order = ServiceOrder(
            number=f"SO{uuid.uuid4().hex[:10]}",
            customer_id=customer_id,
            title="ERP 实施",
            owner_id=owner_id,
            status="in_progress",
            current_stage=0,
            workflow_id="",
        )
        session.add(order)
        await session.flush()
        order.workflow_id = service_order_workflow_id(order.id)
        due = now
        for index, d in enumerate(days):
            due = due + timedelta(days=d)
            session.add(
                ServiceOrderStage(
                    order_id=order.id,
                    index=index,
                    name=f"阶段{index}",
                    owner_id=owner_id,
                    status="in_progress" if index == 0 else "pending",
                    due_at=due,
                    attachment_ids=[],
                )
            )
        await session.flush()
        order_id = order.id
    async with desk.sessions() as session:
        order = await session.get(ServiceOrder, order_id)
        assert order is not None
        await start_order_workflow(session, desk.client, desk.settings, order)
    return order_id
