"""The approvers' daily digest: one in-app notice per person and local day, with a live count."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activities.recipients import Recipient, resolve_recipients
from domain.customers import Approval
from models import Customer, Department, Notification, User

REMINDER = "customer_approval_reminder"
ESCALATED = "customer_approval_escalated"
# Where the notice sends its reader: the pending customers in their scope.
PENDING_LINK = "/api/v1/customers?approval=pending"


def digest_key(template: str, user_id: int, day: date) -> str:
    """At most one row per (template, person, local day): the outbox's idempotency key."""
    return f"{template}:user:{user_id}:{day.isoformat()}:in_app"


async def pending_for(session: AsyncSession, user_id: int) -> int:
    """Customers waiting for this person's decision: all for admins, their departments' else."""
    user = (
        await session.execute(select(User.role, User.department_id).where(User.id == user_id))
    ).first()
    if user is None:
        return 0
    query = (
        select(func.count())
        .select_from(Customer)
        .where(Customer.approval == Approval.PENDING, Customer.merged_into_id.is_(None))
    )
    if user.role != "admin":
        managed = Customer.department_id.in_(
            select(Department.id).where(Department.manager_id == user_id)
        )
        if user.role == "manager" and user.department_id is not None:
            managed = managed | (Customer.department_id == user.department_id)
        query = query.where(managed)
    return int(await session.scalar(query) or 0)


def _payload(count: int, day: date) -> dict[str, object]:
    return {"count": count, "day": day.isoformat(), "link": PENDING_LINK}


async def write_digest(
    session: AsyncSession, template: str, recipients: list[Recipient], day: date
) -> None:
    """Create today's notice per person, or refresh its count: never a second row that day."""
    now = datetime.now(UTC)
    for r in recipients:
        if r.user_id is None:
            continue
        payload = _payload(await pending_for(session, r.user_id), day)
        stmt = insert(Notification).values(
            idempotency_key=digest_key(template, r.user_id, day),
            user_id=r.user_id,
            recipient=r.key,
            channel="in_app",
            template=template,
            payload=payload,
            status="delivered",
            delivered_at=now,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Notification.idempotency_key],
                set_={"payload": stmt.excluded.payload},
                where=Notification.payload.is_distinct_from(stmt.excluded.payload),
            )
        )


async def refresh_digests(session: AsyncSession, department_id: int | None, day: date) -> None:
    """After a decision, today's existing notices show the smaller count (none is created)."""
    managers = await resolve_recipients(
        session, "department_manager", assignee_id=None, department_id=department_id
    )
    admins = await resolve_recipients(session, "role:admin", assignee_id=None, department_id=None)
    for user_id in dict.fromkeys(r.user_id for r in [*managers, *admins] if r.user_id):
        keys = [digest_key(t, user_id, day) for t in (REMINDER, ESCALATED)]
        payload = _payload(await pending_for(session, user_id), day)
        await session.execute(
            update(Notification)
            .where(
                Notification.idempotency_key.in_(keys),
                Notification.payload.is_distinct_from(payload),
            )
            .values(payload=payload)
        )
