"""Customer orders: created once per order number (a retry returns the same order)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import CustomerOrder


class OrderConflict(Exception):
    """The order number is taken by a different order."""


async def create_order(
    session: AsyncSession,
    *,
    customer_id: int,
    order_no: str,
    amount: Decimal,
    ordered_on: date,
    currency: str = "CNY",
    source: str = "manual",
    source_ref: str | None = None,
    created_by: int | None = None,
) -> tuple[CustomerOrder, bool]:
    """Insert the order keyed by its number; (order, created). Same facts again: the same order."""
    inserted = await session.scalar(
        insert(CustomerOrder)
        .values(
            customer_id=customer_id,
            order_no=order_no,
            amount=amount,
            ordered_on=ordered_on,
            currency=currency,
            source=source,
            source_ref=source_ref,
            created_by=created_by,
        )
        .on_conflict_do_nothing(index_elements=[CustomerOrder.order_no])
        .returning(CustomerOrder.id)
    )
    order = await session.scalar(
        select(CustomerOrder)
        .where(CustomerOrder.order_no == order_no)
        .execution_options(populate_existing=True)
    )
    assert order is not None
    same = (order.customer_id, order.amount, order.ordered_on, order.currency) == (
        customer_id,
        amount,
        ordered_on,
        currency,
    )
    if inserted is None and not same:
        raise OrderConflict(order_no)
    return order, inserted is not None
