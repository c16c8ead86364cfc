"""The purchase record an accepted quote leaves behind, in the reports' `customer_orders` table.

Expected columns: customer_id bigint, order_no varchar(64) unique, amount numeric(14,2),
currency char(3), ordered_on date, source varchar(16) ('quote'), source_ref varchar(64)
(the quote number and version, unique per source), created_by int null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ORDERS_TABLE = "customer_orders"
INSERT_ORDER = text(
    "INSERT INTO customer_orders"
    " (customer_id, order_no, amount, currency, ordered_on, source, source_ref, created_by)"
    " VALUES (:customer_id, :order_no, :amount, :currency, :ordered_on, 'quote', :source_ref,"
    " :created_by)"
    " ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class AcceptedQuote:
    customer_id: int
    number: str
    version: int
    total: Decimal
    currency: str
    accepted_on: date
    created_by: int | None


async def record_customer_order(session: AsyncSession, quote: AcceptedQuote) -> bool:
    """Write the order once per quote version; False when the orders table is not installed."""
    present = await session.scalar(
        text("SELECT to_regclass(:name) IS NOT NULL"), {"name": ORDERS_TABLE}
    )
    if not present:
        return False
    ref = f"{quote.number}-v{quote.version}"
    await session.execute(
        INSERT_ORDER,
        {
            "customer_id": quote.customer_id,
            "order_no": ref,
            "amount": quote.total,
            "currency": quote.currency,
            "ordered_on": quote.accepted_on,
            "source_ref": ref,
            "created_by": quote.created_by,
        },
    )
    return True
