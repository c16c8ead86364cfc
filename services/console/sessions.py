"""Console login sessions: create, resolve with idle expiry, end; and the user's language."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import ConsolePreference, ConsoleSession, User

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(session: AsyncSession, user_id: int, now: datetime) -> str:
    """A new session for the user; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_hash(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            last_seen_at=now,
        )
    )
    await session.commit()
    return token


async def resolve_session(
    session: AsyncSession, token: str, now: datetime, idle: timedelta
) -> tuple[ConsoleSession, User] | None:
    """The live session and its active user, touched; None when unknown, idle or inactive."""
    row = await session.get(ConsoleSession, _hash(token))
    if row is None:
        return None
    if now - row.last_seen_at > idle:
        await session.delete(row)
        await session.commit()
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at > timedelta(seconds=30):  # spare a write on every request
        row.last_seen_at = now
        await session.commit()
    return row, user


async def end_session(session: AsyncSession, token: str) -> None:
    """Logout: the token stops working at once."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    await session.commit()


async def user_language(session: AsyncSession, user_id: int) -> str:
    """The language the user last chose; Chinese when never chosen."""
    lang = await session.scalar(
        select(ConsolePreference.lang).where(ConsolePreference.user_id == user_id)
    )
    return lang or DEFAULT_LANGUAGE


async def remember_language(session: AsyncSession, user_id: int, lang: str) -> None:
    """Keep the user's choice (idempotent upsert)."""
    await session.execute(
        insert(ConsolePreference)
        .values(user_id=user_id, lang=lang)
        .on_conflict_do_update(index_elements=[ConsolePreference.user_id], set_={"lang": lang})
    )
    await session.commit()
