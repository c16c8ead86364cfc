"""Screenshots on the public form: images only, checked before the ticket exists."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from core.settings import Settings
from domain.attachments import AttachmentKind
from services.attachments import service
from services.attachments.service import Owner, Upload
from services.attachments.storage import Storage

_IMAGES_ONLY = frozenset({AttachmentKind.IMAGE})


def public_form_limit(settings: Settings) -> int:
    """The whole multipart form: the JSON, three screenshots and the envelope."""
    return settings.public_max_body_bytes + 3 * settings.attachment_max_public_image_bytes + 8_192


async def check_screenshots(settings: Settings, images: list[UploadFile]) -> list[Upload]:
    """Each image checked (422 not an image, 413 too large) before anything is created."""
    uploads = [
        Upload(image.file, image.filename, f"images.{i}", public=True, allowed=_IMAGES_ONLY)
        for i, image in enumerate(images)
    ]
    for upload in uploads:
        await service.check_upload(settings, upload)
    return uploads


async def attach_screenshots(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    ticket_id: int,
    uploads: list[Upload],
) -> None:
    """Store the screenshots on the new ticket; a retried submission stores them once."""
    if not uploads or not ticket_id:
        return
    owner = Owner("ticket", ticket_id=ticket_id)
    for i, upload in enumerate(uploads):
        key = f"public-form:{i}"
        await service.store(
            session, storage, settings, owner, upload, created_by=None, idempotency_key=key
        )
    await session.commit()
