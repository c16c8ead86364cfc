"""Activities of follow-up plans: facts, keyed writes, capped pushes, RFM recomputation."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.notify.outbox import DeliveryStarter
from activities.recipients import Recipient, resolve_recipients
from domain.cadence import (
    LIVE_STATUSES,
    PlanChannel,
    PushRecord,
    RfmFacts,
    choose_push,
    rfm_segment,
)
from domain.customers import CustomerSegment, CustomerTier
from domain.notify import push_notice_key, push_recipient
from models import (
    ContactPush,
    Customer,
    CustomerContact,
    CustomerInteraction,
    FollowUpEvent,
    FollowUpPlan,
    Notification,
    Ticket,
    User,
)
from workflows.followup_types import (
    CadenceChanged,
    CreatePlanRecord,
    CustomerFacts,
    FactsRequest,
    FactsResult,
    PlanChanges,
    PushOutcome,
    PushRequest,
    SegmentRun,
    SegmentRunResult,
)

log = logging.getLogger("closedloop.followups")

PUSH_HISTORY = 200  # recent pushes read per decision: enough for a month's cap and pauses
SEGMENT_BATCH = 500


class FollowUpActivities:
    """Holds the session factory (and a client to signal plans); one transaction per write."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: Client | None = None,
        caps: Mapping[CustomerTier, int] | None = None,
        notifier: DeliveryStarter | None = None,
    ) -> None:
        self._sessions, self._client, self._caps = sessions, client, caps
        self._notifier = notifier

    @activity.defn(name="load_plan_facts")
    async def load_plan_facts(self, req: FactsRequest) -> FactsResult:
        """The customer as the plan should see it now, following merges; None if gone."""
        async with self._sessions() as session:
            on_row = await session.scalar(
                select(FollowUpPlan.customer_id).where(FollowUpPlan.id == req.plan_id)
            )
            customer = await session.get(Customer, on_row or req.customer_id)
            for _ in range(5):
                if customer is None or customer.merged_into_id is None:
                    break
                customer = await session.get(Customer, customer.merged_into_id)
            if customer is None:
                return FactsResult()
            return FactsResult(
                facts=CustomerFacts(
                    customer_id=customer.id,
                    code=customer.code,
                    tier=CustomerTier(customer.tier),
                    segment=CustomerSegment(customer.segment) if customer.segment else None,
                    birthday=customer.birthday,
                    tags=list(customer.tags or []),
                    last_contact_at=customer.last_contact_at,
                )
            )

    @activity.defn(name="create_plan_record")
    async def create_plan_record(self, rec: CreatePlanRecord) -> None:
        """Insert the plan row and its `created` event once."""
        p = rec.plan
        async with self._sessions.begin() as session:
            inserted = await session.scalar(
                insert(FollowUpPlan)
                .values(
                    id=p.plan_id,
                    customer_id=p.customer_id,
                    owner_id=p.owner_id,
                    cadence=p.cadence,
                    effective_cadence=rec.effective_cadence,
                    priority=p.priority.value,
                    channels=[c.value for c in p.channels],
                    status="active",
                    grace_period=p.grace_period,
                    birthday_lead_days=p.birthday_lead_days,
                    next_due_at=rec.next_due_at,
                    last_touch_at=rec.last_touch_at,
                    workflow_id=rec.workflow_id,
                    created_by=p.created_by,
                    created_at=rec.at,
                    updated_at=rec.at,
                    last_seq=1,
                )
                .on_conflict_do_nothing()
                .returning(FollowUpPlan.id)
            )
            if inserted is None:
                return
            data = {
                "customer_id": p.customer_id,
                "owner_id": p.owner_id,
                "cadence": p.cadence,
                "effective_cadence": rec.effective_cadence,
                "next_due_at": rec.next_due_at.isoformat(),
            }
            session.add(
                FollowUpEvent(
                    plan_id=p.plan_id, seq=1, at=rec.at, type="created", actor=p.actor, data=data
                )
            )

    @activity.defn(name="apply_plan_changes")
    async def apply_plan_changes(self, inp: PlanChanges) -> None:
        """Append events, move the projection forward and notify in-app, atomically."""
        s = inp.state
        last_seq = max(event.seq for event in inp.events)
        async with self._sessions.begin() as session:
            await session.execute(
                insert(FollowUpEvent)
                .values(
                    [
                        {"plan_id": s.plan_id, **event.model_dump(include=_EVENT_FIELDS)}
                        for event in inp.events
                    ]
                )
                .on_conflict_do_nothing(constraint="uq_follow_up_events_plan_seq")
            )
            await session.execute(
                update(FollowUpPlan)
                .where(FollowUpPlan.id == s.plan_id, FollowUpPlan.last_seq < last_seq)
                .values(
                    customer_id=s.customer_id,
                    status=s.status.value,
                    effective_cadence=inp.effective_cadence,
                    next_due_at=s.next_due_at,
                    last_touch_at=s.last_touch_at,
                    escalated_at=s.escalated_at,
                    updated_at=s.updated_at,
                    last_seq=last_seq,
                )
            )
            rows: list[dict[str, Any]] = []
            now = datetime.now(UTC)
            for notice in inp.notices:
                payload = {
                    "plan_id": s.plan_id,
                    "customer_id": s.customer_id,
                    "customer_code": s.customer_code,
                    **notice.data,
                }
                for r in await _recipients(session, notice.notify, s.owner_id):
                    key = f"{inp.workflow_id}:{notice.event_seq}:{notice.template}:{r.key}"
                    rows.append(_in_app(f"{key}:in_app", r, notice.template, payload, now))
            if rows:
                await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())

    @activity.defn(name="push_to_customer")
    async def push_to_customer(self, req: PushRequest) -> PushOutcome:
        """Queue one automatic push on the first open channel, within the tier's monthly cap."""
        prefix = f"{req.workflow_id}:{req.key}:"
        async with self._sessions.begin() as session:
            same_key = ContactPush.idempotency_key.startswith(prefix, autoescape=True)
            done = await session.scalar(select(ContactPush).where(same_key))
            if done is None:
                outcome, notice = await self._decide_push(session, req, prefix)
            else:  # a retry after the commit: same answer, and make sure it is on its way
                outcome = PushOutcome(channel=done.channel, push_id=done.id)
                notice = push_notice_key(done.idempotency_key)
        if notice is not None and self._notifier is not None:
            await self._notifier.start([notice])
        return outcome

    async def _decide_push(
        self, session: AsyncSession, req: PushRequest, prefix: str
    ) -> tuple[PushOutcome, str | None]:
        # One decision at a time per customer, so concurrent plans cannot overrun a cap.
        customer = (
            await session.execute(
                select(Customer.id, Customer.last_contact_at)
                .where(Customer.id == req.customer_id)
                .with_for_update()
            )
        ).first()
        if customer is None:
            return PushOutcome(reason="customer_removed"), None
        reachable = await self._reachable(session, req)
        if not reachable:
            return PushOutcome(reason="no_reachable_channel"), None
        history = await session.execute(
            select(ContactPush.channel, ContactPush.at, ContactPush.opened_at)
            .where(ContactPush.customer_id == req.customer_id)
            .order_by(ContactPush.at.desc())
            .limit(PUSH_HISTORY)
        )
        pushes = [PushRecord(r.channel, r.at, r.opened_at) for r in history]
        decision = choose_push(
            reachable,
            req.tier,
            pushes,
            customer.last_contact_at,
            req.at,
            req.timezone,
            self._caps,
        )
        paused = sorted(decision.paused)
        if decision.channel is None:
            return PushOutcome(reason=decision.reason, paused=paused), None
        push = ContactPush(
            customer_id=req.customer_id,
            plan_id=req.plan_id,
            channel=decision.channel,
            kind=req.kind,
            at=req.at,
            idempotency_key=prefix + decision.channel,
        )
        session.add(push)
        await session.flush()
        # The outbox carries it from here: NotificationDelivery resolves the primary contact.
        notice = push_notice_key(push.idempotency_key)
        payload = {**req.data, "plan_id": req.plan_id, "push_id": push.id, "kind": req.kind}
        await session.execute(
            insert(Notification)
            .values(
                idempotency_key=notice,
                recipient=push_recipient(req.customer_id),
                channel=decision.channel,
                template=req.kind,
                payload=payload,
                status="pending",
            )
            .on_conflict_do_nothing()
        )
        return PushOutcome(channel=decision.channel, push_id=push.id, paused=paused), notice

    async def _reachable(self, session: AsyncSession, req: PushRequest) -> list[str]:
        """The plan's push channels this deployment can send on and the customer has an address for.

        WeChat has no sender here: a WeChat-only plan gets the owner's task and no push.
        """
        contact = (
            await session.execute(
                select(CustomerContact.email, CustomerContact.phone).where(
                    CustomerContact.customer_id == req.customer_id, CustomerContact.is_primary
                )
            )
        ).first()
        addresses = {
            PlanChannel.EMAIL.value: contact is not None and bool(contact.email),
            PlanChannel.SMS.value: contact is not None and bool(contact.phone),
        }
        enabled = self._notifier.channels if self._notifier is not None else set(addresses)
        return [
            c.value for c in req.channels if addresses.get(c.value, False) and c.value in enabled
        ]

    @activity.defn(name="recompute_segments")
    async def recompute_segments(self, run: SegmentRun) -> SegmentRunResult:
        """RFM segments from interactions and linked tickets; moved plans get `cadence_changed`."""
        as_of = run.as_of or datetime.now(UTC)
        details = activity.info().heartbeat_details
        after = int(details[0]) if details else 0
        result = SegmentRunResult()
        while True:
            async with self._sessions.begin() as session:
                rows = (await session.execute(_rfm_query(as_of, after, run.customer_ids))).all()
                if not rows:
                    return result
                moved: dict[int, CustomerSegment] = {}
                for row in rows:
                    facts = RfmFacts(row.last_at, row.created_at, row.frequency, row.orders)
                    segment = rfm_segment(facts, as_of)
                    if segment.value != row.segment:
                        moved[row.id] = segment
                for customer_id, segment in moved.items():
                    await session.execute(
                        update(Customer)
                        .where(Customer.id == customer_id)
                        .values(segment=segment.value, updated_at=as_of)
                    )
                plans = (
                    await session.execute(
                        select(FollowUpPlan.id, FollowUpPlan.customer_id).where(
                            FollowUpPlan.customer_id.in_(moved),
                            FollowUpPlan.status.in_([s.value for s in LIVE_STATUSES]),
                        )
                    )
                ).all()
            result.customers += len(rows)
            result.changed += len(moved)
            for plan_id, customer_id in plans:
                result.plans_signalled += await self._signal(plan_id, moved[customer_id])
            after = rows[-1].id
            activity.heartbeat(after)

    async def _signal(self, plan_id: int, segment: CustomerSegment) -> int:
        if self._client is None:
            return 0
        handle = self._client.get_workflow_handle(f"plan-{plan_id}")
        try:
            await handle.signal("cadence_changed", CadenceChanged(segment=segment))
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            log.info("plan-%s has ended; segment change not signalled", plan_id)
            return 0
        return 1


_EVENT_FIELDS = {"seq", "at", "type", "actor", "data"}


def _rfm_query(as_of: datetime, after: int, only: list[int] | None) -> Any:
    year_ago = as_of - timedelta(days=365)
    touches = CustomerInteraction
    last_at = (
        select(func.max(touches.at))
        .where(touches.customer_id == Customer.id, touches.at <= as_of)
        .scalar_subquery()
    )
    frequency = (
        select(func.count())
        .where(touches.customer_id == Customer.id, touches.at > year_ago, touches.at <= as_of)
        .scalar_subquery()
    )
    orders = (
        select(func.count())
        .where(Ticket.customer_id == Customer.id, Ticket.created_at > year_ago)
        .scalar_subquery()
    )
    query = select(
        Customer.id,
        Customer.created_at,
        Customer.segment,
        last_at.label("last_at"),
        frequency.label("frequency"),
        orders.label("orders"),
    ).where(Customer.merged_into_id.is_(None), Customer.id > after)
    if only is not None:
        query = query.where(Customer.id.in_(only))
    return query.order_by(Customer.id).limit(SEGMENT_BATCH)


async def _recipients(session: AsyncSession, notify: str, owner_id: int) -> list[Recipient]:
    if notify == "owner":
        return [Recipient(f"user:{owner_id}", owner_id)]
    department_id = await session.scalar(select(User.department_id).where(User.id == owner_id))
    return await resolve_recipients(
        session, "department_manager", assignee_id=None, department_id=department_id
    )


def _in_app(
    key: str, r: Recipient, template: str, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "user_id": r.user_id,
        "recipient": r.key,
        "channel": "in_app",
        "template": template,
        "payload": payload,
        "status": "delivered",
        "delivered_at": now,
    }
