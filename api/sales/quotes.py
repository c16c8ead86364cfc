"""Quotes: create, read, submit, decide, revise, send, PDF; approval rules (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from api.sales.common import IdempotencyKeyHeader, ObjectId
from api.sales.quote_schemas import (
    ApprovalRuleIn,
    ApprovalRuleOut,
    DecideIn,
    QuoteIn,
    QuoteOut,
    ReviseIn,
)
from api.tickets.service import request_fingerprint
from core.errors import Invalid
from models import ApprovalRuleRow, Customer, Quote, User
from services.sales import quote_actions as actions
from services.sales import quotes as service
from services.sales.quote_pdf import render_quote_pdf

router = APIRouter(prefix="/quotes", tags=["quotes"])
rules_router = APIRouter(prefix="/quote-approval-rules", tags=["quotes"])


async def _view(session: SessionDep, caller: CurrentUser, quote_id: int) -> dict[str, Any]:
    quote = await service.get_quote(session, caller, quote_id)
    return service.quote_view(quote, await service.lines_of(session, quote.id))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=QuoteOut)
async def create_quote(
    body: QuoteIn,
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> dict[str, Any]:
    """A draft quote; without lines it copies the solution's items (quantity 1)."""
    fingerprint = request_fingerprint(body)
    quote = await service.create_quote(
        session, settings, caller, body, idempotency_key, fingerprint
    )
    return await _view(session, caller, quote.id)


@router.get("", response_model=Page[QuoteOut])
async def list_quotes(
    caller: CurrentUser,
    session: SessionDep,
    customer_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=24)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    found = await service.list_quotes(
        session,
        caller,
        customer_id=customer_id,
        status=status_,
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    items = [service.quote_view(q, await service.lines_of(session, q.id)) for q in found[:limit]]
    more = len(found) > limit
    return {"items": items, "next_cursor": encode_cursor(found[limit - 1].id) if more else None}


@router.get("/{quote_id}", response_model=QuoteOut)
async def get_quote(quote_id: ObjectId, caller: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return await _view(session, caller, quote_id)


@router.get("/{quote_id}/versions", response_model=list[QuoteOut])
async def quote_versions(
    quote_id: ObjectId, caller: CurrentUser, session: SessionDep
) -> list[dict[str, Any]]:
    """Every version of this quote's number, oldest first (old versions stay readable)."""
    quote = await service.get_quote(session, caller, quote_id)
    found = await session.scalars(
        select(Quote).where(Quote.number == quote.number).order_by("version")
    )
    return [service.quote_view(q, await service.lines_of(session, q.id)) for q in found]


@router.post("/{quote_id}/submit", response_model=QuoteOut)
async def submit_quote(
    quote_id: ObjectId,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Start approval: the rules name the approvers, lowest level first."""
    quote = await service.get_quote(session, caller, quote_id)
    await actions.submit_quote(session, client, settings, caller, quote)
    return await _view(session, caller, quote_id)


@router.post("/{quote_id}/decide", response_model=QuoteOut)
async def decide_quote(
    quote_id: ObjectId,
    body: DecideIn,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Only the approver the rules name for the current level (403 for anyone else)."""
    quote = await _approvable(session, caller, quote_id)
    await actions.decide_quote(client, settings, caller, quote, body.decision, body.reason)
    return await _view(session, caller, quote_id)


async def _approvable(session: SessionDep, caller: CurrentUser, quote_id: int) -> Quote:
    """Approvers see the quotes they are asked about even outside their customer scope."""
    quote = await session.get(Quote, quote_id, populate_existing=True)
    named = quote is not None and any(
        caller.user_id in (s.get("approver_id"), s.get("escalate_to_id"))
        for s in quote.approval_steps
    )
    if quote is not None and named:
        return quote
    return await service.get_quote(session, caller, quote_id)


@router.post("/{quote_id}/revise", response_model=QuoteOut, status_code=status.HTTP_201_CREATED)
async def revise_quote(
    quote_id: ObjectId,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    body: ReviseIn | None = None,
) -> dict[str, Any]:
    """A new version back in draft; the old one stays readable (and its link stops working)."""
    quote = await service.get_quote(session, caller, quote_id)
    new, was_open = await service.revise_quote(session, caller, quote, body or ReviseIn())
    if was_open:
        await actions.supersede(client, quote_id)
    return await _view(session, caller, new.id)


@router.post("/{quote_id}/send", response_model=QuoteOut)
async def send_quote(
    quote_id: ObjectId,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """To the customer's primary contact, with the public link."""
    quote = await service.get_quote(session, caller, quote_id)
    await actions.send_quote(client, settings, caller, quote)
    return await _view(session, caller, quote_id)


@router.get("/{quote_id}/pdf", response_class=Response)
async def quote_pdf(
    quote_id: ObjectId, caller: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Response:
    quote = await _approvable(session, caller, quote_id)
    customer_name = await session.scalar(
        select(Customer.name).where(Customer.id == quote.customer_id)
    )
    pdf = render_quote_pdf(
        quote,
        await service.lines_of(session, quote.id),
        company=settings.company_name,
        customer_name=customer_name or "",
        timezone=settings.timezone,
        font_path=settings.quote_font_path,
    )
    filename = f"{quote.number}-v{quote.version}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _rule_view(rule: ApprovalRuleRow) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "level": rule.level,
        "min_total": None if rule.min_total is None else str(rule.min_total),
        "min_discount_pct": None if rule.min_discount_pct is None else str(rule.min_discount_pct),
        "approver_id": rule.approver_id,
        "escalate_to_id": rule.escalate_to_id,
        "active": rule.active,
    }


@rules_router.post("", status_code=status.HTTP_201_CREATED, response_model=ApprovalRuleOut)
async def create_rule(body: ApprovalRuleIn, caller: AdminUser, session: SessionDep) -> Any:
    """Approver by total or discount over thresholds; levels are asked in ascending order."""
    if body.min_total is None and body.min_discount_pct is None:
        raise Invalid("body.min_total", "set min_total or min_discount_pct (or both)")
    for field in ("approver_id", "escalate_to_id"):
        user_id = getattr(body, field)
        if user_id is not None and await session.get(User, user_id) is None:
            raise Invalid(f"body.{field}", f"user {user_id} does not exist")
    rule = ApprovalRuleRow(**body.model_dump(), active=True)
    session.add(rule)
    await session.commit()
    return _rule_view(rule)


@rules_router.get("", response_model=list[ApprovalRuleOut])
async def list_rules(caller: CurrentUser, session: SessionDep) -> Any:
    found = await session.scalars(
        select(ApprovalRuleRow).where(ApprovalRuleRow.active).order_by("level", "id")
    )
    return [_rule_view(r) for r in found]


@rules_router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def retire_rule(rule_id: ObjectId, caller: AdminUser, session: SessionDep) -> None:
    """Retire a rule: submitted quotes keep the approvers fixed at submission."""
    rule = await session.get(ApprovalRuleRow, rule_id)
    if rule is not None:
        rule.active = False
        await session.commit()
