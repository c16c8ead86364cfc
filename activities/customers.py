"""Activities of the customer approval workflow; every write is keyed or conditional."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.approval_digest import ESCALATED, REMINDER, refresh_digests, write_digest
from activities.recipients import Recipient, resolve_recipients
from domain.customers import Approval, Decision
from models import Customer, CustomerEvent, Notification
from workflows.customer_approval import ApprovalResult, DecisionRecord, ReminderRequest


class CustomerActivities:
    """Holds the session factory and the local timezone of digest days; one transaction each."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], timezone: str = "Asia/Shanghai"
    ) -> None:
        self._sessions = sessions
        self._zone = ZoneInfo(timezone)

    @activity.defn(name="remind_customer_approval")
    async def remind_customer_approval(self, req: ReminderRequest) -> bool:
        """Note the reminder on the customer; refresh the approvers' daily digest.

        False when nothing is pending. Managers (and, once escalated, admins) get at most one
        in-app notice per local day however many customers wait: a bulk import of N customers
        is one notice with count N, not N notices a day.
        """
        info = activity.info()
        # Run id: a resubmitted customer's fresh run reuses the workflow id and the sequences.
        round_key = f"{req.workflow_id}:{info.workflow_run_id}"
        day = info.scheduled_time.astimezone(self._zone).date()
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    select(
                        Customer.approval,
                        Customer.merged_into_id,
                        Customer.name,
                        Customer.department_id,
                    )
                    .where(Customer.id == req.customer_id)
                    # Serialises overlapping attempts: the event checks below stay exact.
                    .with_for_update()
                )
            ).first()
            if row is None or row.approval != Approval.PENDING or row.merged_into_id is not None:
                return False
            data = {
                "customer_id": req.customer_id,
                "code": req.code,
                "name": row.name,
                "days_pending": req.sequence,
            }
            key = f"{round_key}:{req.sequence}"
            await _event_once(session, req.customer_id, "approval_reminded", key, data)
            managers = await resolve_recipients(
                session, "department_manager", assignee_id=None, department_id=row.department_id
            )
            await write_digest(session, REMINDER, managers, day)
            if req.escalate:
                key = f"{round_key}:escalated"
                await _event_once(session, req.customer_id, "approval_escalated", key, data)
                admins = await resolve_recipients(
                    session, "role:admin", assignee_id=None, department_id=None
                )
                await write_digest(session, ESCALATED, admins, day)
            return True

    @activity.defn(name="record_customer_decision")
    async def record_customer_decision(self, rec: DecisionRecord) -> ApprovalResult:
        """Apply approve/reject once (only from pending) with its event and the owner's notice."""
        decision = rec.decision
        approval = Approval.APPROVED if decision.decision is Decision.APPROVE else Approval.REJECTED
        async with self._sessions.begin() as session:
            changed = (
                await session.execute(
                    update(Customer)
                    .where(Customer.id == rec.customer_id, Customer.approval == Approval.PENDING)
                    .values(approval=approval, approval_reason=decision.reason, updated_at=rec.at)
                    .returning(Customer.owner_id, Customer.code, Customer.department_id)
                )
            ).first()
            if changed is not None:
                data = {"reason": decision.reason, "decided_by": decision.actor_id}
                await _event(session, rec.customer_id, approval.value, data, decision.actor, rec.at)
                if changed.owner_id is not None:
                    owner = [Recipient(f"user:{changed.owner_id}", changed.owner_id)]
                    payload = {"customer_id": rec.customer_id, "code": changed.code, **data}
                    template = f"customer_{approval.value}"
                    # Per run: a resubmitted customer is decided again under the same workflow id.
                    key = f"{rec.workflow_id}:{activity.info().workflow_run_id}:decided"
                    await _notify(session, key, template, owner, payload)
                await refresh_digests(
                    session, changed.department_id, rec.at.astimezone(self._zone).date()
                )
                return ApprovalResult(
                    customer_id=rec.customer_id, approval=approval, reason=decision.reason
                )
            current = (
                await session.execute(
                    select(Customer.approval, Customer.approval_reason).where(
                        Customer.id == rec.customer_id
                    )
                )
            ).first()
            if current is None:
                raise ApplicationError(
                    f"customer {rec.customer_id} does not exist", non_retryable=True
                )
            # A retry after the commit, or decided by another path: report what is stored.
            return ApprovalResult(
                customer_id=rec.customer_id,
                approval=Approval(current.approval),
                reason=current.approval_reason,
            )


async def _notify(
    session: AsyncSession,
    key: str,
    template: str,
    recipients: list[Recipient],
    payload: dict[str, Any],
) -> bool:
    """In-app rows keyed by workflow id + sequence; True if any row is new."""
    now = datetime.now(UTC)
    rows = [
        {
            "idempotency_key": f"{key}:{template}:{r.key}:in_app",
            "user_id": r.user_id,
            "recipient": r.key,
            "channel": "in_app",
            "template": template,
            "payload": payload,
            "status": "delivered",
            "delivered_at": now,
        }
        for r in recipients
        if r.user_id is not None
    ]
    if not rows:
        return False
    inserted = await session.scalars(
        insert(Notification).values(rows).on_conflict_do_nothing().returning(Notification.id)
    )
    return bool(list(inserted))


async def _event_once(
    session: AsyncSession, customer_id: int, type_: str, key: str, data: dict[str, Any]
) -> None:
    """One timeline entry per key (a retried attempt finds the first one)."""
    seen = await session.scalar(
        select(CustomerEvent.id)
        .where(
            CustomerEvent.customer_id == customer_id,
            CustomerEvent.type == type_,
            CustomerEvent.data.contains({"key": key}),
        )
        .limit(1)
    )
    if seen is None:
        await _event(session, customer_id, type_, {**data, "key": key})


async def _event(
    session: AsyncSession,
    customer_id: int,
    type_: str,
    data: dict[str, Any],
    actor: str = "system",
    at: datetime | None = None,
) -> None:
    session.add(
        CustomerEvent(
            customer_id=customer_id, at=at or datetime.now(UTC), type=type_, actor=actor, data=data
        )
    )
    await session.flush()
