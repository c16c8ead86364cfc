"""Key rotation for attachments: re-wrap each file's data key, never touch the files."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.crypto import Keyring
from models import Attachment
from services.attachments.envelope import unwrap_key, wrap_key


async def rewrap_keys(
    sessions: async_sessionmaker[AsyncSession], ring: Keyring, batch: int = 500
) -> int:
    """Re-wrap every data key not under the ring's current key; how many were re-wrapped."""
    done, after = 0, 0
    while True:
        async with sessions.begin() as session:
            rows = (
                await session.execute(
                    select(Attachment.id, Attachment.storage_key, Attachment.wrapped_key)
                    .where(Attachment.id > after)
                    .order_by(Attachment.id)
                    .limit(batch)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return done
            for attachment_id, key, wrapped in rows:
                if Keyring.kid_of(wrapped) != ring.current_kid:
                    rewrapped = wrap_key(ring, unwrap_key(ring, wrapped, key), key)
                    await session.execute(
                        update(Attachment)
                        .where(Attachment.id == attachment_id)
                        .values(wrapped_key=rewrapped)
                    )
                    done += 1
            after = rows[-1][0]
