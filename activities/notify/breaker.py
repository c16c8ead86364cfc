"""The per-destination circuit breaker: park a webhook or robot channel that keeps failing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.notify import BREAKER_CHANNELS, PARKED_TEMPLATE, NotifyChannel
from models import DeliveryBreaker, Notification, User, WebhookSubscription


def destination_of(row: Notification) -> str | None:
    """`webhook:<id>` or `user:<id>:<channel>` for a robot; None for channels without one."""
    if row.channel == NotifyChannel.WEBHOOK:
        return row.recipient
    if row.channel in BREAKER_CHANNELS and row.user_id is not None:
        return f"user:{row.user_id}:{row.channel}"
    return None


async def is_parked(session: AsyncSession, destination: str) -> bool:
    parked = await session.scalar(
        select(DeliveryBreaker.parked_at).where(DeliveryBreaker.destination == destination)
    )
    return parked is not None


async def record_success(session: AsyncSession, destination: str) -> None:
    """A delivered message closes the breaker: the run of failures starts again at zero."""
    await session.execute(
        update(DeliveryBreaker)
        .where(DeliveryBreaker.destination == destination)
        .values(consecutive_failures=0, parked_at=None)
    )


async def record_failure(
    session: AsyncSession, destination: str, threshold: int, error: str | None
) -> bool:
    """Count a failed delivery; True when this one parked the destination (its owner told once)."""
    await session.execute(
        insert(DeliveryBreaker)
        .values(destination=destination, consecutive_failures=1)
        .on_conflict_do_update(
            index_elements=[DeliveryBreaker.destination],
            set_={
                "consecutive_failures": DeliveryBreaker.consecutive_failures + 1,
                "updated_at": text("now()"),
            },
        )
    )
    now = datetime.now(UTC)
    parked = await session.scalar(
        update(DeliveryBreaker)
        .where(
            DeliveryBreaker.destination == destination,
            DeliveryBreaker.parked_at.is_(None),
            DeliveryBreaker.consecutive_failures >= threshold,
        )
        .values(parked_at=now)
        .returning(DeliveryBreaker.consecutive_failures)
    )
    if parked is None:
        return False
    owners = await owners_of(session, destination)
    payload = {"destination": destination, "failures": parked, "error": error}
    rows = [
        {
            "idempotency_key": f"{PARKED_TEMPLATE}:{destination}:{now.isoformat()}:{owner}",
            "user_id": owner,
            "recipient": f"user:{owner}",
            "channel": NotifyChannel.IN_APP.value,
            "template": PARKED_TEMPLATE,
            "payload": payload,
            "status": "delivered",
            "delivered_at": now,
        }
        for owner in owners
    ]
    if rows:
        await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
    return True


async def owners_of(session: AsyncSession, destination: str) -> list[int]:
    """Who hears about a parked destination: the webhook's creator (else every admin), or
    the person whose robot channel it is."""
    kind, _, rest = destination.partition(":")
    if kind == "user":
        return [int(rest.split(":")[0])]
    sub = await session.get(WebhookSubscription, int(rest)) if rest.isdigit() else None
    creator = await session.get(User, sub.created_by) if sub and sub.created_by else None
    if creator is not None and creator.is_active and creator.role == "admin":
        return [creator.id]
    admins = await session.scalars(select(User.id).where(User.role == "admin", User.is_active))
    return list(admins)


async def unpark(session: AsyncSession, destination: str) -> None:
    """An admin's reset: the destination receives deliveries again."""
    await record_success(session, destination)
