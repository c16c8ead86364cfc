"""Customer orders: POST/GET /customers/{id}/orders (scoped like the customer)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from api.customers import access
from api.deps import CurrentUser, SessionDep
from api.orders.schemas import OrderCreate, OrderOut
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from core.errors import Conflict
from models import CustomerOrder
from services.orders import OrderConflict, create_order

router = APIRouter(prefix="/customers", tags=["orders"])


@router.post("/{customer_id}/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
async def add_order(
    customer_id: int,
    body: OrderCreate,
    caller: CurrentUser,
    session: SessionDep,
    response: Response,
) -> CustomerOrder:
    """Record a purchase; the order number is the idempotency key (same order again: 200)."""
    customer = await access.get_customer(session, caller, customer_id, edit=True)
    try:
        order, created = await create_order(
            session,
            customer_id=customer.id,
            order_no=body.order_no,
            amount=body.amount,
            ordered_on=body.ordered_on,
            currency=body.currency,
            created_by=caller.user_id,
        )
    except OrderConflict as exc:
        raise Conflict(f"order number {body.order_no} belongs to a different order") from exc
    await session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


@router.get("/{customer_id}/orders", response_model=Page[OrderOut])
async def list_orders(
    customer_id: int,
    caller: CurrentUser,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[OrderOut]:
    """The customer's orders, newest first."""
    await access.get_customer(session, caller, customer_id)
    query = select(CustomerOrder).where(CustomerOrder.customer_id == customer_id)
    rows, next_cursor = await fetch_page(
        session, query, CustomerOrder.id, limit, cursor, newest_first=True
    )
    return Page(items=[OrderOut.model_validate(r) for r in rows], next_cursor=next_cursor)
