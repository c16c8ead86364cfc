"""Numbering (QT…/SO… per local day) and Idempotency-Key bookkeeping for sales creates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from models import IdempotencyKey, SalesCounter


async def allocate_sales_number(session: AsyncSession, kind: str, tz: str) -> str:
    """Next <kind>yyyymmddNNN for today's local date; atomic under concurrency."""
    today = datetime.now(ZoneInfo(tz)).date()
    sequence = await session.scalar(
        insert(SalesCounter)
        .values(kind=kind, day=today, last=1)
        .on_conflict_do_update(
            index_elements=[SalesCounter.kind, SalesCounter.day],
            set_={"last": SalesCounter.last + 1},
        )
        .returning(SalesCounter.last)
    )
    assert sequence is not None
    return f"{kind}{today:%Y%m%d}{sequence:03d}"


async def replayed(
    session: AsyncSession, scope: str, key: str | None, fingerprint: str
) -> str | None:
    """The resource a earlier request with this key created; 409 if its body differed."""
    if key is None:
        return None
    existing = await session.get(IdempotencyKey, (scope, key))
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise Conflict(
            "Idempotency-Key was already used with a different body",
            code="idempotency_key_reused",
        )
    return existing.resource


async def remember(
    session: AsyncSession, scope: str, key: str | None, fingerprint: str, resource: str
) -> None:
    """Bind the key to what this request created, in the request's own transaction."""
    if key is not None:
        session.add(
            IdempotencyKey(scope=scope, key=key, request_hash=fingerprint, resource=resource)
        )
