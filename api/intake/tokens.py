"""Customer status tokens: random 32-byte urlsafe strings, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import PublicToken, Ticket

MAX_TOKEN_LENGTH = 100


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: AsyncSession, ticket_number: str, kind: str = "status") -> str:
    """A new token for the ticket (added to the session; the caller commits)."""
    token = secrets.token_urlsafe(32)
    session.add(PublicToken(token_hash=hash_token(token), ticket_number=ticket_number, kind=kind))
    return token


async def ticket_for_token(session: AsyncSession, token: str) -> Ticket | None:
    """The ticket a token opens, or None for an unknown token or a ticket not persisted yet."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    number = await session.scalar(
        select(PublicToken.ticket_number).where(PublicToken.token_hash == hash_token(token))
    )
    if number is None:
        return None
    return await session.scalar(select(Ticket).where(Ticket.number == number))


def status_url(base_url: str, token: str) -> str:
    """The customer's status page; the token rides in the fragment, never in server logs."""
    return f"{base_url.rstrip('/')}/embed/feedback#token={token}"
