"""An accepted quote leaves one purchase record in `customer_orders` (the reports' table)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_sessionmaker
from models import Customer, CustomerOrder
from services.sales.customer_orders import AcceptedQuote, record_customer_order


async def test_accepted_quote_is_written_once_as_a_customer_order(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        customer = Customer(code=f"CUS{uuid.uuid4().hex[:12]}", name="宁波港湾物流")
        session.add(customer)
        await session.flush()
        customer_id = customer.id
    quote = AcceptedQuote(
        customer_id=customer_id,
        number=f"QT{uuid.uuid4().hex[:10]}",
        version=2,
        total=Decimal("12345.67"),
        currency="CNY",
        accepted_on=date(2026, 12, 4),
        created_by=None,
    )
    written = []
    for _ in range(2):  # a retried activity
        async with sessions.begin() as session:
            written.append(await record_customer_order(session, quote))
    assert written == [True, False]
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    CustomerOrder.order_no,
                    CustomerOrder.amount,
                    CustomerOrder.source,
                    CustomerOrder.source_ref,
                ).where(CustomerOrder.customer_id == customer_id)
            )
        ).all()
    ref = f"{quote.number}-v2"
    assert [tuple(r) for r in rows] == [(ref, Decimal("12345.67"), "quote", ref)]
