"""Storing, listing, reading and deleting attachments (callers check the owner's scope)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import pii
from core.errors import Invalid, PayloadTooLarge
from core.settings import Settings
from domain.attachments import (
    SNIFF_BYTES,
    AttachmentKind,
    DetectedType,
    RejectedType,
    detect,
    sanitize_filename,
)
from models import Attachment
from services.attachments.envelope import IntegrityError, open_stream, seal_stream, verified
from services.attachments.storage import Storage, attachments_dir

READ = 1 << 20


@dataclass(frozen=True)
class Owner:
    """What an attachment hangs on; customer_id is also set for interactions."""

    type: str
    ticket_id: int | None = None
    customer_id: int | None = None
    interaction_id: int | None = None


@dataclass(frozen=True)
class Upload:
    stream: IO[bytes]
    filename: str | None
    field: str = "file"
    public: bool = False
    allowed: frozenset[AttachmentKind] = frozenset(AttachmentKind)


def size_limit(settings: Settings, kind: AttachmentKind, public: bool) -> int:
    """The per-kind limit (public form screenshots have their own, smaller one)."""
    if public:
        return settings.attachment_max_public_image_bytes
    if kind is AttachmentKind.IMAGE:
        return settings.attachment_max_image_bytes
    return settings.attachment_max_document_bytes


async def check_upload(settings: Settings, upload: Upload) -> DetectedType:
    """422 for a type outside the allowlist, 413 over the kind's limit (nothing stored)."""
    return await asyncio.to_thread(_check, settings, upload)


def _check(settings: Settings, upload: Upload) -> DetectedType:
    """Type from the bytes and size from the spooled upload, before anything is stored."""
    stream = upload.stream
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    try:
        found = detect(head)
    except RejectedType as exc:
        raise Invalid(upload.field, str(exc)) from exc
    if found.kind not in upload.allowed:
        raise Invalid(upload.field, f"only images are accepted here, not {found.content_type}")
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    limit = size_limit(settings, found.kind, upload.public)
    if size > limit:
        raise PayloadTooLarge(
            f"{found.kind.value} files may be at most {limit} bytes",
            details={"errors": [{"field": upload.field, "message": f"larger than {limit}"}]},
        )
    stream.seek(0)
    return found


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(READ):
        yield chunk


async def store(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    owner: Owner,
    upload: Upload,
    *,
    created_by: int | None,
    idempotency_key: str | None = None,
) -> Attachment:
    """Check, seal and store an upload; its row, inserted in the session's transaction."""
    if idempotency_key:
        existing: Attachment | None = await session.scalar(_same_key(owner, idempotency_key))
        if existing is not None:
            return existing
    found = await check_upload(settings, upload)
    key = f"{datetime.now(UTC):%Y/%m}/{uuid.uuid4().hex}"
    staging = attachments_dir(settings) / ".staging"
    staging.mkdir(parents=True, exist_ok=True)

    def seal() -> tuple[Path, int, str, bytes]:
        handle = tempfile.NamedTemporaryFile(dir=staging, delete=False)  # noqa: SIM115
        with handle:
            sealed = seal_stream(pii.keyring(), key, _chunks(upload.stream), handle)
        return Path(handle.name), sealed.size, sealed.sha256, sealed.wrapped_key

    path, size, sha256, wrapped = await asyncio.to_thread(seal)
    try:
        await storage.put(key, path)
    finally:
        if path.exists():
            path.unlink()
    values = {
        "owner_type": owner.type,
        "ticket_id": owner.ticket_id,
        "customer_id": owner.customer_id,
        "interaction_id": owner.interaction_id,
        "filename": sanitize_filename(upload.filename, found.extension),
        "content_type": found.content_type,
        "size": size,
        "sha256": sha256,
        "storage_key": key,
        "wrapped_key": wrapped,
        "source": "public" if upload.public else "staff",
        "created_by": created_by,
        "idempotency_key": idempotency_key,
    }
    # Keyed: a concurrent request with the same key may have won; answer with its row.
    inserted = await session.scalar(
        insert(Attachment).values(**values).on_conflict_do_nothing().returning(Attachment.id)
    )
    if inserted is not None:
        query = select(Attachment).where(Attachment.id == inserted)
    else:
        assert idempotency_key is not None  # only the keyed index can conflict
        query = _same_key(owner, idempotency_key)
    row: Attachment | None = await session.scalar(query)
    assert row is not None
    return row


def _same_key(owner: Owner, key: str):  # type: ignore[no-untyped-def]
    return select(Attachment).where(
        Attachment.owner_type == owner.type,
        Attachment.ticket_id.is_not_distinct_from(owner.ticket_id),
        Attachment.customer_id.is_not_distinct_from(owner.customer_id),
        Attachment.interaction_id.is_not_distinct_from(owner.interaction_id),
        Attachment.idempotency_key == key,
    )


async def list_for(session: AsyncSession, owner: Owner) -> list[Attachment]:
    """Live attachments of exactly this owner, oldest first."""
    query = select(Attachment).where(
        Attachment.owner_type == owner.type, Attachment.deleted_at.is_(None)
    )
    if owner.type == "ticket":
        query = query.where(Attachment.ticket_id == owner.ticket_id)
    elif owner.type == "customer":
        query = query.where(Attachment.customer_id == owner.customer_id)
    else:
        query = query.where(Attachment.interaction_id == owner.interaction_id)
    return list(await session.scalars(query.order_by(Attachment.id)))


async def customer_file(session: AsyncSession, customer_id: int) -> list[Attachment]:
    """Every live attachment of a customer, its interactions' included."""
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.customer_id == customer_id, Attachment.deleted_at.is_(None))
        .order_by(Attachment.id)
    )
    return list(rows)


async def live(session: AsyncSession, attachment_id: int) -> Attachment | None:
    return await session.scalar(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.deleted_at.is_(None))
    )


async def soft_delete(session: AsyncSession, attachment: Attachment, user_id: int) -> None:
    await session.execute(
        update(Attachment)
        .where(Attachment.id == attachment.id)
        .values(deleted_at=datetime.now(UTC), deleted_by=user_id)
    )


async def plaintext(storage: Storage, attachment: Attachment) -> AsyncIterator[bytes]:
    """The verified file in chunks, staged first: nothing is sent unless the sha256 matches.

    IntegrityError when the stored bytes were altered or do not match the recorded sha256.
    """

    def stage() -> IO[bytes]:
        out = tempfile.SpooledTemporaryFile(max_size=READ)  # noqa: SIM115
        chunks = open_stream(
            pii.keyring(),
            attachment.storage_key,
            attachment.wrapped_key,
            storage.read(attachment.storage_key),
        )
        try:
            for chunk in verified(chunks, attachment.sha256, attachment.size):
                out.write(chunk)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return out

    staged = await asyncio.to_thread(stage)
    return _drain(staged)


async def _drain(staged: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(staged.read, READ):
            yield chunk
    finally:
        staged.close()


__all__ = ["IntegrityError", "Owner", "Upload", "customer_file", "list_for", "store"]
