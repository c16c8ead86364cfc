"""Customer orders: POST/GET /customers/{id}/orders (scoped like the customer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile, status
from sqlalchemy import select

from api.customers import access
from api.deps import CurrentUser, SessionDep
from api.orders.schemas import OrderCreate, OrderOut
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from core.errors import AppError, Conflict
from models import CustomerOrder
from services.order_import import ImportRejected, import_orders, read_rows
from services.orders import OrderConflict, create_order

router = APIRouter(prefix="/customers", tags=["orders"])
import_router = APIRouter(prefix="/orders", tags=["orders"])


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


class RowsInvalid(AppError):
    """A file whose rows have problems: `details.errors` lists `{row, field, message}`."""

    status_code = 422
    code = "invalid"


@import_router.post("/import")
async def import_order_file(
    file: Annotated[UploadFile, File(description="CSV: customer_code, order_no, amount, ...")],
    caller: CurrentUser,
    session: SessionDep,
) -> dict[str, int]:
    """Import purchases (source `import`); any bad row rejects the whole file with 422."""
    try:
        rows = read_rows(await file.read())
        result = await import_orders(session, rows, access.edit_scope(caller), caller.user_id)
    except ImportRejected as exc:
        errors = [{"row": p.row, "field": p.field, "message": p.message} for p in exc.problems]
        raise RowsInvalid("the file has problems", details={"errors": errors[:1000]}) from exc
    await session.commit()
    return {"created": result.created, "unchanged": result.unchanged}
