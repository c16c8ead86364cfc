"""Keyed writes shared by the sales activities: timeline events and in-app staff notices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import Notification, QuoteEvent, ServiceOrderEvent, User


async def _keyed_event(
    session: AsyncSession, table: type[QuoteEvent] | type[ServiceOrderEvent], **values: Any
) -> bool:
    """One timeline row per key (ON CONFLICT on `key`); True when this call wrote it."""
    row = await session.scalar(
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[table.key])
        .returning(table.id)
    )
    return row is not None


async def quote_event(
    session: AsyncSession,
    quote_id: int,
    key: str,
    type_: str,
    data: dict[str, Any],
    at: datetime,
    actor: str = "system",
) -> bool:
    """A quote's timeline row, once per key."""
    return await _keyed_event(
        session, QuoteEvent, quote_id=quote_id, key=key, at=at, type=type_, actor=actor, data=data
    )


async def order_event(
    session: AsyncSession,
    order_id: int,
    key: str,
    type_: str,
    data: dict[str, Any],
    at: datetime,
    actor: str = "system",
) -> bool:
    """A service order's timeline row, once per key."""
    return await _keyed_event(
        session,
        ServiceOrderEvent,
        order_id=order_id,
        key=key,
        at=at,
        type=type_,
        actor=actor,
        data=data,
    )


async def admins(session: AsyncSession) -> list[int]:
    found = await session.scalars(select(User.id).where(User.role == "admin", User.is_active))
    return list(found)


async def notify_staff(
    session: AsyncSession,
    key: str,
    template: str,
    user_ids: Iterable[int | None],
    payload: dict[str, Any],
) -> None:
    """In-app outbox rows (delivered on insert), one per person, keyed by workflow step."""
    now = datetime.now(UTC)
    rows = [
        {
            "idempotency_key": f"{key}:{template}:user:{user_id}:in_app",
            "user_id": user_id,
            "recipient": f"user:{user_id}",
            "channel": "in_app",
            "template": template,
            "payload": payload,
            "status": "delivered",
            "delivered_at": now,
        }
        for user_id in dict.fromkeys(u for u in user_ids if u is not None)
    ]
    if rows:
        await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
