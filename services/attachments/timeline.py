"""Attachments as ticket timeline entries, placed after the event they followed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Attachment


async def with_attachments(session: AsyncSession, ticket_id: int, events: list[Any]) -> list[Any]:
    """The timeline with an `attachment_added` entry per live attachment, in time order."""
    rows = list(
        await session.scalars(
            select(Attachment)
            .where(Attachment.ticket_id == ticket_id, Attachment.deleted_at.is_(None))
            .order_by(Attachment.created_at, Attachment.id)
        )
    )
    if not rows:
        return events
    merged: list[Any] = []
    pending = iter(rows)
    upcoming = next(pending, None)
    last_seq = 0
    for event in events:
        at = event["at"] if isinstance(event, dict) else event.at
        while upcoming is not None and upcoming.created_at < at:
            merged.append(_entry(upcoming, last_seq))
            upcoming = next(pending, None)
        merged.append(event)
        last_seq = event["seq"] if isinstance(event, dict) else event.seq
    while upcoming is not None:
        merged.append(_entry(upcoming, last_seq))
        upcoming = next(pending, None)
    return merged


def _entry(row: Attachment, seq: int) -> dict[str, Any]:
    actor = f"user:{row.created_by}" if row.created_by is not None else row.source
    return {
        "seq": seq,
        "at": row.created_at,
        "type": "attachment_added",
        "actor": actor,
        "data": {
            "attachment_id": row.id,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
        },
    }
