"""Quote actions through the QuoteWorkflow: submit, decide, send, answer, supersede."""

from __future__ import annotations

import contextlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import Principal
from core.errors import NotFound
from core.settings import Settings
from core.temporal import start_until_created
from domain.sales.links import token_id
from domain.sales.quotes import ApprovalRule, QuoteResponse, QuoteStatus, approval_chain
from models import ApprovalRuleRow, Quote
from services.sales.quotes import require_transition
from services.sales.workflow_calls import run_update
from workflows.quote import QuoteWorkflow, quote_workflow_id
from workflows.quote_types import (
    DecideInput,
    QuoteInput,
    QuoteStep,
    QuoteView,
    RespondInput,
    SendInput,
)


async def active_rules(session: AsyncSession) -> list[ApprovalRule]:
    rows = await session.scalars(select(ApprovalRuleRow).where(ApprovalRuleRow.active))
    return [
        ApprovalRule(
            id=r.id,
            level=r.level,
            approver_id=r.approver_id,
            min_total=r.min_total,
            min_discount_pct=r.min_discount_pct,
            escalate_to_id=r.escalate_to_id,
        )
        for r in rows
    ]


async def submit_quote(
    session: AsyncSession, client: Client, settings: Settings, principal: Principal, quote: Quote
) -> QuoteView:
    """Fix the approvers from today's rules and start the quote's workflow (once)."""
    require_transition(quote, QuoteStatus.PENDING_APPROVAL)
    chain = approval_chain(await active_rules(session), quote.total, quote.max_discount_pct)
    steps = [
        QuoteStep(level=s.level, approver_id=s.approver_id, escalate_to_id=s.escalate_to_id)
        for s in chain
    ]
    inp = QuoteInput(
        quote_id=quote.id,
        number=quote.number,
        version=quote.version,
        valid_until=quote.valid_until,
        steps=steps,
        actor=principal.actor,
        remind_every_seconds=settings.quote_remind_every_seconds,
        escalate_after_reminders=settings.quote_escalate_after_reminders,
        max_reminders=settings.quote_max_reminders,
    )
    workflow_id = quote_workflow_id(quote.id)
    await session.rollback()  # the workflow's activity writes the row
    return await start_until_created(
        client,
        settings,
        QuoteWorkflow.run,
        inp,
        workflow_id=workflow_id,
        result_type=QuoteView,
        what="quote submission",
    )


def _closed(quote: Quote) -> str:
    return f"quote {quote.number} v{quote.version} is {quote.status}; it takes no such step"


async def decide_quote(
    client: Client,
    settings: Settings,
    principal: Principal,
    quote: Quote,
    decision: str,
    reason: str | None,
) -> QuoteView:
    require_transition(quote, QuoteStatus.APPROVED)
    arg = DecideInput(
        decision=decision,
        reason=reason,
        actor_id=principal.user_id,
        actor_is_admin=principal.is_admin,
    )
    wf = quote_workflow_id(quote.id)
    return await run_update(
        client, settings, wf, "decide", arg, QuoteView, closed_message=_closed(quote)
    )


async def send_quote(
    client: Client, settings: Settings, principal: Principal, quote: Quote
) -> QuoteView:
    require_transition(quote, QuoteStatus.SENT)
    arg = SendInput(actor_id=principal.user_id)
    wf = quote_workflow_id(quote.id)
    return await run_update(
        client, settings, wf, "send", arg, QuoteView, closed_message=_closed(quote)
    )


async def supersede(client: Client, quote_id: int) -> None:
    """Tell a replaced version's workflow to stop reminding and expiring it."""
    with contextlib.suppress(RPCError):
        await client.get_workflow_handle(quote_workflow_id(quote_id)).signal("superseded")


async def quote_for_token(session: AsyncSession, settings: Settings, token: str) -> Quote:
    """The quote a public link opens; 404 for an unknown or forged token."""
    secret = settings.secret_key.get_secret_value().encode()
    quote_id = token_id(secret, "quote", token)
    quote = await session.get(Quote, quote_id) if quote_id is not None else None
    # Unsent versions have no page; a revised version's link stops answering.
    if quote is None or quote.sent_at is None or quote.superseded_by_id is not None:
        raise NotFound("unknown or expired quote link")
    return quote


async def respond_to_quote(
    client: Client, settings: Settings, quote: Quote, response: str, comment: str | None
) -> QuoteView:
    """The customer's one answer; a second answer (or one after expiry) is 409."""
    require_transition(quote, QuoteStatus.ACCEPTED)
    arg = RespondInput(response=QuoteResponse(response), comment=comment)
    return await run_update(
        client,
        settings,
        quote_workflow_id(quote.id),
        "respond",
        arg,
        QuoteView,
        closed_message="this quote has already been answered or is no longer open",
    )
