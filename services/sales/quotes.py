"""Quotes: creation with Decimal totals, scoping, versions, and the workflow's actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.customers.access import get_customer, read_scope
from api.deps import Principal
from core.errors import Conflict, Invalid, NotFound
from core.settings import Settings
from domain.sales.money import LineInput, money_text, quote_totals
from domain.sales.quotes import QuoteStatus, revise_error, transition_error
from models import Customer, Need, Quote, QuoteLine, Solution
from services.sales.records import allocate_sales_number, remember, replayed


def line_inputs(lines: Sequence[Any]) -> list[LineInput]:
    return [
        LineInput(
            name=line.name,
            quantity=Decimal(line.quantity),
            unit_price=Decimal(line.unit_price),
            discount_pct=Decimal(line.discount_pct),
        )
        for line in lines
    ]


async def _solution_lines(session: AsyncSession, solution_id: int) -> list[dict[str, Any]]:
    solution = await session.get(Solution, solution_id)
    if solution is None:
        raise Invalid("body.solution_id", f"solution {solution_id} does not exist")
    return [
        {
            "sku": item.get("sku"),
            "name": item["name"],
            "quantity": Decimal(1),
            "unit_price": Decimal(item["unit_price"]),
            "discount_pct": Decimal(0),
        }
        for item in solution.items
    ]


def _add_lines(session: AsyncSession, quote: Quote, lines: list[dict[str, Any]]) -> None:
    """Price the lines and set the quote's totals (half-up to the fen, per line)."""
    totals = quote_totals(
        [
            LineInput(l["name"], l["quantity"], l["unit_price"], l["discount_pct"])
            for l in lines  # noqa: E741
        ]
    )
    quote.subtotal, quote.discount_total = totals.subtotal, totals.discount_total
    quote.total, quote.max_discount_pct = totals.total, totals.max_discount_pct
    for position, (line, priced) in enumerate(zip(lines, totals.lines, strict=True)):
        session.add(
            QuoteLine(
                quote_id=quote.id,
                position=position,
                sku=line.get("sku"),
                name=line["name"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount_pct=line["discount_pct"],
                amount=priced.amount,
            )
        )


async def create_quote(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    body: Any,
    key: str | None,
    fingerprint: str,
) -> Quote:
    scope = f"quote:{principal.user_id}"
    seen = await replayed(session, scope, key, fingerprint)
    if seen is not None:
        return await get_quote(session, principal, int(seen))
    customer = await get_customer(session, principal, body.customer_id)
    if body.need_id is not None:
        need = await session.get(Need, body.need_id)
        if need is None or need.customer_id != customer.id:
            raise Invalid("body.need_id", "the need does not belong to this customer")
    lines = [line.model_dump() for line in body.lines]
    if not lines and body.solution_id is not None:
        lines = await _solution_lines(session, body.solution_id)
    elif body.solution_id is not None:
        await _solution_lines(session, body.solution_id)
    if not lines:
        raise Invalid("body.lines", "a quote needs at least one line (or a solution with items)")
    quote = Quote(
        number=await allocate_sales_number(session, "QT", settings.timezone),
        version=1,
        customer_id=customer.id,
        need_id=body.need_id,
        solution_id=body.solution_id,
        currency=body.currency,
        valid_until=body.valid_until,
        status=QuoteStatus.DRAFT,
        note=body.note,
        subtotal=Decimal(0),
        discount_total=Decimal(0),
        total=Decimal(0),
        max_discount_pct=Decimal(0),
        approval_steps=[],
        escalated=False,
        created_by=principal.user_id,
        department_id=customer.department_id or principal.department_id,
    )
    session.add(quote)
    await session.flush()
    _add_lines(session, quote, lines)
    await remember(session, scope, key, fingerprint, str(quote.id))
    await session.commit()
    return quote


async def revise_quote(
    session: AsyncSession, principal: Principal, quote: Quote, body: Any
) -> tuple[Quote, bool]:
    """A new draft version (copying what the body leaves out); True if the old one was open."""
    error = revise_error(QuoteStatus(quote.status), quote.superseded_by_id is not None)
    if error:
        raise Conflict(error, code="transition_not_allowed")
    if body.lines is not None:
        lines = [line.model_dump() for line in body.lines]
    else:
        old = await lines_of(session, quote.id)
        lines = [
            {
                "sku": l.sku,
                "name": l.name,
                "quantity": l.quantity,
                "unit_price": l.unit_price,
                "discount_pct": l.discount_pct,
            }
            for l in old  # noqa: E741
        ]
    latest = await session.scalar(
        select(Quote.version).where(Quote.number == quote.number).order_by(Quote.version.desc())
    )
    new = Quote(
        number=quote.number,
        version=(latest or quote.version) + 1,
        customer_id=quote.customer_id,
        need_id=quote.need_id,
        solution_id=quote.solution_id,
        currency=quote.currency,
        valid_until=body.valid_until or quote.valid_until,
        status=QuoteStatus.DRAFT,
        note=body.note if body.note is not None else quote.note,
        subtotal=Decimal(0),
        discount_total=Decimal(0),
        total=Decimal(0),
        max_discount_pct=Decimal(0),
        approval_steps=[],
        escalated=False,
        created_by=principal.user_id,
        department_id=quote.department_id,
    )
    session.add(new)
    await session.flush()
    _add_lines(session, new, lines)
    was_open = quote.status in (
        QuoteStatus.PENDING_APPROVAL,
        QuoteStatus.APPROVED,
        QuoteStatus.SENT,
    )
    quote.superseded_by_id = new.id
    quote.updated_at = datetime.now(UTC)
    await session.commit()
    return new, was_open


def require_transition(quote: Quote, target: QuoteStatus) -> None:
    """409 for a step the status machine forbids, or on a superseded version."""
    if quote.superseded_by_id is not None:
        raise Conflict("this version was revised; act on the latest version", code="superseded")
    error = transition_error(QuoteStatus(quote.status), target)
    if error:
        raise Conflict(error, code="transition_not_allowed")


async def get_quote(session: AsyncSession, principal: Principal, quote_id: int) -> Quote:
    """A quote whose customer the caller may see; 404 otherwise."""
    query = (
        select(Quote).join(Customer, Customer.id == Quote.customer_id).where(Quote.id == quote_id)
    )
    condition = read_scope(principal)
    if condition is not None:
        query = query.where(condition)
    quote = await session.scalar(query.execution_options(populate_existing=True))
    if quote is None:
        raise NotFound(f"quote {quote_id} not found")
    return quote


async def list_quotes(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: int | None,
    status: str | None,
    after: int | None,
    limit: int,
) -> list[Quote]:
    query = select(Quote).join(Customer, Customer.id == Quote.customer_id).order_by(Quote.id)
    condition = read_scope(principal)
    if condition is not None:
        query = query.where(condition)
    if customer_id is not None:
        query = query.where(Quote.customer_id == customer_id)
    if status is not None:
        query = query.where(Quote.status == status)
    if after is not None:
        query = query.where(Quote.id > after)
    return list(await session.scalars(query.limit(limit)))


async def lines_of(session: AsyncSession, quote_id: int) -> list[QuoteLine]:
    found = await session.scalars(
        select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(QuoteLine.position)
    )
    return list(found)


def line_view(line: QuoteLine) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "name": line.name,
        "quantity": str(line.quantity.normalize())
        if line.quantity % 1
        else str(int(line.quantity)),
        "unit_price": money_text(line.unit_price),
        "discount_pct": str(line.discount_pct),
        "amount": money_text(line.amount),
    }


def quote_view(quote: Quote, lines: Sequence[QuoteLine]) -> dict[str, Any]:
    return {
        "id": quote.id,
        "number": quote.number,
        "version": quote.version,
        "customer_id": quote.customer_id,
        "need_id": quote.need_id,
        "solution_id": quote.solution_id,
        "currency": quote.currency,
        "valid_until": quote.valid_until,
        "status": quote.status,
        "note": quote.note,
        "lines": [line_view(line) for line in lines],
        "subtotal": money_text(quote.subtotal),
        "discount_total": money_text(quote.discount_total),
        "total": money_text(quote.total),
        "approval_level": quote.approval_level,
        "approval_steps": quote.approval_steps,
        "superseded_by_id": quote.superseded_by_id,
        "response": quote.response,
        "workflow_id": quote.workflow_id,
        "created_at": quote.created_at,
        "updated_at": quote.updated_at,
    }
