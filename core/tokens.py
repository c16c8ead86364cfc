"""Customer links: status tokens (random, stored only as their SHA-256) and signed push links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
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


def _push_mac(secret: bytes, push_id: int) -> str:
    digest = hmac.new(secret, f"push-open:{push_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def push_token(secret: bytes, push_id: int) -> str:
    """The tracked link of one push: its id and a MAC, so nothing is stored per link."""
    return f"{push_id}.{_push_mac(secret, push_id)}"


def push_for_token(secret: bytes, token: str) -> int | None:
    """The push a tracked link names, or None when the link was not issued by us."""
    push_id, _, mac = token.partition(".")
    if not push_id.isdigit() or len(push_id) > 18 or len(token) > MAX_TOKEN_LENGTH:
        return None
    if not hmac.compare_digest(mac, _push_mac(secret, int(push_id))):
        return None
    return int(push_id)


def push_url(base_url: str, token: str) -> str:
    """Opening this link counts as the customer engaging with the push."""
    return f"{base_url.rstrip('/')}/api/v1/public/pushes/{token}"


PUSH_MESSAGE_PREFIX = "push-"


def push_message_tag(token: str) -> str:
    """The Message-ID left part of a push mail: a reply's In-Reply-To carries the token back."""
    return PUSH_MESSAGE_PREFIX + token


def pushes_replied_to(secret: bytes, references: str) -> list[int]:
    """Pushes named by the Message-IDs in a reply's In-Reply-To and References headers."""
    found = re.findall(rf"<{PUSH_MESSAGE_PREFIX}([0-9]+\.[A-Za-z0-9_-]+)@", references)
    ids = (push_for_token(secret, token) for token in found[:20])
    return sorted({push_id for push_id in ids if push_id is not None})
