"""An accepted quote leaves one purchase record in `customer_orders` (the reports' table)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_sessionmaker
from models import Customer
from services.sales.customer_orders import AcceptedQuote, record_customer_order

# The columns the reports' migration creates (same names and types).
ORDERS_DDL = """
CREATE TABLE IF NOT EXISTS customer_orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    order_no varchar(64) NOT NULL UNIQUE,
    amount numeric(14, 2) NOT NULL,
    currency varchar(3) NOT NULL DEFAULT 'CNY',
    ordered_on date NOT NULL,
    source varchar(16) NOT NULL DEFAULT 'manual',
    source_ref varchar(64),
    created_by integer REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz DEFAULT now()
)
"""


async def test_accepted_quote_is_written_once_when_the_orders_table_exists(
    engine: AsyncEngine,
) -> None:
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
    async with engine.begin() as conn:
        await conn.execute(text(ORDERS_DDL))
    for _ in range(2):  # a retried activity
        async with sessions.begin() as session:
            assert await record_customer_order(session, quote)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT order_no, amount, source, source_ref FROM customer_orders"
                    " WHERE customer_id = :c"
                ),
                {"c": customer_id},
            )
        ).all()
    ref = f"{quote.number}-v2"
    assert [tuple(r) for r in rows] == [(ref, Decimal("12345.67"), "quote", ref)]
