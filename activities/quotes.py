"""Activities of the quote workflow; each write is conditional on the status or keyed."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.sales_records import admins, notify_staff, quote_event
from core.settings import Settings
from domain.customers import CustomerStage
from domain.sales.links import link_token
from domain.sales.quotes import RESPONSE_STATUS, QuoteResponse, QuoteStatus
from models import Customer, CustomerContact, Need, Quote
from services.sales.customer_orders import AcceptedQuote, record_customer_order
from workflows.quote_types import (
    DecisionRecord,
    ExpireRecord,
    ResponseRecord,
    SendRecord,
    StepNotice,
    SubmitRecord,
)

S = QuoteStatus


def quote_link(settings: Settings, quote_id: int) -> str:
    """The customer's public page of a quote."""
    secret = settings.secret_key.get_secret_value().encode()
    base = (settings.public_base_url or f"http://{settings.api_host}:{settings.api_port}").rstrip(
        "/"
    )
    return f"{base}/api/v1/public/quotes/{link_token(secret, 'quote', quote_id)}"


class QuoteActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    async def _quote(self, session: AsyncSession, quote_id: int) -> Quote:
        quote = await session.scalar(select(Quote).where(Quote.id == quote_id).with_for_update())
        assert quote is not None, f"quote {quote_id} is gone"
        return quote

    def _payload(self, quote: Quote, **extra: Any) -> dict[str, Any]:
        return {
            "quote_id": quote.id,
            "number": quote.number,
            "version": quote.version,
            "total": str(quote.total),
            "currency": quote.currency,
            "link": f"/api/v1/quotes/{quote.id}",
            **extra,
        }

    @activity.defn(name="submit_quote")
    async def submit_quote(self, rec: SubmitRecord) -> None:
        """draft → pending_approval (or approved when no rule applies), with the steps."""
        target = S.PENDING_APPROVAL if rec.steps else S.APPROVED
        async with self._sessions.begin() as session:
            quote = await self._quote(session, rec.quote_id)
            if quote.status == S.DRAFT:
                quote.status = target
                quote.approval_steps = [s.model_dump() for s in rec.steps]
                quote.approval_level = rec.steps[0].level if rec.steps else None
                quote.workflow_id = rec.workflow_id
                quote.updated_at = rec.at
            data = {"status": target.value, "steps": quote.approval_steps}
            await quote_event(
                session,
                quote.id,
                f"{rec.workflow_id}:submitted",
                "submitted",
                data,
                rec.at,
                rec.actor,
            )
            if quote.need_id is not None:
                await session.execute(
                    update(Need)
                    .where(Need.id == quote.need_id, Need.status == "open")
                    .values(status="proposed", updated_at=rec.at)
                )

    @activity.defn(name="notify_quote_step")
    async def notify_quote_step(self, notice: StepNotice) -> None:
        """Ask, remind or escalate one approval step (in-app notices keyed by the sequence)."""
        at = activity.info().scheduled_time
        step = notice.step
        key = f"{notice.workflow_id}:step{notice.index}:{notice.sequence}"
        async with self._sessions.begin() as session:
            quote = await self._quote(session, notice.quote_id)
            if quote.status != S.PENDING_APPROVAL:
                return
            payload = self._payload(quote, level=step.level, sequence=notice.sequence)
            kind = "approval_requested" if notice.sequence == 0 else "approval_reminded"
            await quote_event(session, quote.id, key, kind, payload, at)
            template = (
                "quote_approval_requested" if notice.sequence == 0 else "quote_approval_reminder"
            )
            await notify_staff(session, key, template, [step.approver_id], payload)
            if notice.escalate:
                quote.escalated = True
                to = [step.escalate_to_id] if step.escalate_to_id else await admins(session)
                data = {**payload, "escalated_to": to, "approver_id": step.approver_id}
                await quote_event(
                    session, quote.id, f"{key}:escalated", "approval_escalated", data, at
                )
                await notify_staff(
                    session, f"{key}:escalated", "quote_approval_escalated", to, data
                )

    @activity.defn(name="record_quote_decision")
    async def record_quote_decision(self, rec: DecisionRecord) -> None:
        decision = rec.decision
        async with self._sessions.begin() as session:
            quote = await self._quote(session, rec.quote_id)
            step = quote.approval_steps[rec.index]
            actor = f"user:{decision.actor_id}"
            data = {
                "level": step["level"],
                "decision": decision.decision,
                "reason": decision.reason,
                "decided_by": decision.actor_id,
            }
            key = f"{rec.workflow_id}:step{rec.index}:decided"
            if not await quote_event(session, quote.id, key, "decided", data, rec.at, actor):
                return  # a retry after the commit
            if decision.decision == "reject":
                quote.status = S.REJECTED
            elif rec.last:
                quote.status = S.APPROVED
            else:
                quote.approval_level = quote.approval_steps[rec.index + 1]["level"]
                quote.escalated = False
            quote.updated_at = rec.at
            payload = self._payload(quote, **data, status=quote.status)
            await notify_staff(session, key, "quote_decided", [quote.created_by], payload)

    @activity.defn(name="send_quote")
    async def send_quote(self, rec: SendRecord) -> None:
        """approved → sent; the customer's primary contact gets the public link."""
        async with self._sessions.begin() as session:
            quote = await self._quote(session, rec.quote_id)
            if quote.status == S.APPROVED:
                quote.status = S.SENT
                quote.sent_at = rec.at
                quote.updated_at = rec.at
            contact = await session.scalar(
                select(CustomerContact.id).where(
                    CustomerContact.customer_id == quote.customer_id, CustomerContact.is_primary
                )
            )
            link = quote_link(self._settings, quote.id)
            data = {"link": link, "contact_id": contact}
            key = f"{rec.workflow_id}:sent"
            actor = f"user:{rec.actor_id}"
            await quote_event(session, quote.id, key, "sent", data, rec.at, actor)
            payload = self._payload(quote, public_link=link, contact_id=contact)
            await notify_staff(session, key, "quote_sent", [quote.created_by], payload)

    @activity.defn(name="record_quote_response")
    async def record_quote_response(self, rec: ResponseRecord) -> None:
        """The customer's one answer; accepting wins the need, makes a deal and an order."""
        answer = rec.response.response
        async with self._sessions.begin() as session:
            quote = await self._quote(session, rec.quote_id)
            key = f"{rec.workflow_id}:responded"
            data = {"response": answer.value, "comment": rec.response.comment}
            if not await quote_event(session, quote.id, key, "responded", data, rec.at, "customer"):
                return
            quote.status = RESPONSE_STATUS[answer]
            quote.response, quote.response_comment = answer.value, rec.response.comment
            quote.responded_at = quote.updated_at = rec.at
            if answer is QuoteResponse.ACCEPT:
                await self._accepted(session, quote, rec)
            elif answer is QuoteResponse.DECLINE and quote.need_id is not None:
                await session.execute(
                    update(Need)
                    .where(Need.id == quote.need_id)
                    .values(status="lost", updated_at=rec.at)
                )
            payload = self._payload(quote, **data)
            await notify_staff(session, key, "quote_answered", [quote.created_by], payload)

    async def _accepted(self, session: AsyncSession, quote: Quote, rec: ResponseRecord) -> None:
        if quote.need_id is not None:
            await session.execute(
                update(Need).where(Need.id == quote.need_id).values(status="won", updated_at=rec.at)
            )
        customer = await session.get(Customer, quote.customer_id, with_for_update=True)
        # Buying makes a deal from any stage: a lead skips intention, a lost customer is back.
        if customer is not None and customer.stage != CustomerStage.DEAL:
            customer.stage = CustomerStage.DEAL
        zone = ZoneInfo(self._settings.timezone)
        written = await record_customer_order(
            session,
            AcceptedQuote(
                customer_id=quote.customer_id,
                number=quote.number,
                version=quote.version,
                total=quote.total,
                currency=quote.currency,
                accepted_on=rec.at.astimezone(zone).date(),
                created_by=quote.created_by,
            ),
        )
        key = f"{rec.workflow_id}:order"
        data = {"order_no": f"{quote.number}-v{quote.version}", "recorded": written}
        await quote_event(session, quote.id, key, "customer_order", data, rec.at)

    @activity.defn(name="expire_quote")
    async def expire_quote(self, rec: ExpireRecord) -> None:
        async with self._sessions.begin() as session:
            quote = await self._quote(session, rec.quote_id)
            if quote.status not in (S.PENDING_APPROVAL, S.APPROVED, S.SENT):
                return
            previous = quote.status
            quote.status = S.EXPIRED
            quote.updated_at = rec.at
            key = f"{rec.workflow_id}:expired"
            await quote_event(session, quote.id, key, "expired", {"from": previous}, rec.at)
            payload = self._payload(quote, previous=previous)
            await notify_staff(session, key, "quote_expired", [quote.created_by], payload)
