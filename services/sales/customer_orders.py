"""The purchase record an accepted quote leaves behind, in the reports' `customer_orders` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import CustomerOrder


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
    """Write the order once per quote version (keyed by `QTyyyymmddNNN-vN`); True if new."""
    ref = f"{quote.number}-v{quote.version}"
    written = await session.scalar(
        insert(CustomerOrder)
        .values(
            customer_id=quote.customer_id,
            order_no=ref,
            amount=quote.total,
            currency=quote.currency,
            ordered_on=quote.accepted_on,
            source="quote",
            source_ref=ref,
            created_by=quote.created_by,
        )
        .on_conflict_do_nothing()
        .returning(CustomerOrder.id)
    )
    return written is not None
