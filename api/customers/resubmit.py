"""Resubmission of a rejected customer: back to pending, once per Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Principal
from core.errors import Conflict
from domain.customers import Approval
from models import Customer, CustomerEvent, IdempotencyKey


def _fingerprint(customer_id: int, note: str | None) -> str:
    canonical = json.dumps({"customer_id": customer_id, "note": note}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _replayed(session: AsyncSession, scope: str, key: str | None, fingerprint: str) -> bool:
    """True for a retry of an accepted request; 409 when the key came with another body."""
    if key is None:
        return False
    seen = await session.get(IdempotencyKey, (scope, key), populate_existing=True)
    if seen is None:
        return False
    if seen.request_hash != fingerprint:
        raise Conflict(
            "Idempotency-Key was already used with a different body", code="idempotency_key_reused"
        )
    return True


async def resubmit(
    session: AsyncSession,
    principal: Principal,
    customer: Customer,
    note: str | None,
    key: str | None,
) -> bool:
    """Rejected → pending with a `resubmitted` event, committed; False for a retried key."""
    scope = f"customers:resubmit:user:{principal.user_id}"
    fingerprint = _fingerprint(customer.id, note)
    if await _replayed(session, scope, key, fingerprint):
        return False
    if customer.merged_into_id is not None:
        raise Conflict(f"customer {customer.code} was merged", code="customer_merged")
    now = datetime.now(UTC)
    previous = customer.approval_reason
    changed = await session.scalar(
        update(Customer)
        .where(
            Customer.id == customer.id,
            Customer.approval == Approval.REJECTED,
            Customer.merged_into_id.is_(None),
        )
        .values(approval=Approval.PENDING.value, approval_reason=None, updated_at=now)
        .returning(Customer.id)
    )
    if changed is None:
        await session.rollback()
        # A concurrent retry with this key may have won the row: answer as a retry.
        if await _replayed(session, scope, key, fingerprint):
            return False
        await session.refresh(customer)
        raise Conflict(
            f"customer {customer.code} is {customer.approval}; only a rejected customer"
            " is resubmitted",
            code="not_rejected",
        )
    data = {"note": note, "previous_reason": previous}
    session.add(
        CustomerEvent(
            customer_id=customer.id, at=now, type="resubmitted", actor=principal.actor, data=data
        )
    )
    if key is not None:
        await session.execute(
            insert(IdempotencyKey)
            .values(scope=scope, key=key, request_hash=fingerprint, resource=str(customer.id))
            .on_conflict_do_nothing()
        )
    await session.commit()
    await session.refresh(customer)
    return True
