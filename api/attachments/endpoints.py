"""Attachment endpoints: thin — resolve the owner in scope, call the attachment service."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Header, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from api.attachments import owners
from api.attachments.schemas import AttachmentOut
from api.audit.admin_log import record_audit
from api.deps import CurrentUser, SessionDep, SettingsDep
from core.errors import AppError, Forbidden, NotFound
from models import Attachment
from services.attachments import service
from services.attachments.envelope import IntegrityError
from services.attachments.service import Owner, Upload
from services.attachments.storage import Storage

router = APIRouter(tags=["attachments"])

StorageDep = Annotated[Storage, Depends(owners.storage)]
FileField = Annotated[UploadFile, File(description="The file; its type is read from its bytes")]
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, min_length=1)
]


class CorruptAttachment(AppError):
    status_code = 500
    code = "attachment_corrupt"


async def _upload(
    session: SessionDep,
    storage: Storage,
    settings: SettingsDep,
    owner: Owner,
    file: UploadFile,
    caller: CurrentUser,
    idempotency_key: str | None,
) -> Attachment:
    row = await service.store(
        session,
        storage,
        settings,
        owner,
        Upload(file.file, file.filename),
        created_by=caller.user_id,
        idempotency_key=idempotency_key,
    )
    await session.commit()
    return row


@router.post(
    "/tickets/{ref}/attachments", status_code=status.HTTP_201_CREATED, response_model=AttachmentOut
)
async def upload_to_ticket(
    ref: str,
    file: FileField,
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Attachment:
    """Attach a file to a ticket (it appears on the timeline)."""
    owner = await owners.ticket_owner(session, caller, ref)
    return await _upload(session, storage, settings, owner, file, caller, idempotency_key)


@router.get("/tickets/{ref}/attachments", response_model=list[AttachmentOut])
async def ticket_attachments(
    ref: str, caller: CurrentUser, session: SessionDep
) -> list[Attachment]:
    """A ticket's attachments, oldest first."""
    return await service.list_for(session, await owners.ticket_owner(session, caller, ref))


@router.post(
    "/customers/{customer_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentOut,
)
async def upload_to_customer(
    customer_id: int,
    file: FileField,
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Attachment:
    """Attach a file (a qualification, a contract) to a customer."""
    owner = await owners.customer_owner(session, caller, customer_id, edit=True)
    return await _upload(session, storage, settings, owner, file, caller, idempotency_key)


@router.get("/customers/{customer_id}/attachments", response_model=list[AttachmentOut])
async def customer_attachments(
    customer_id: int, caller: CurrentUser, session: SessionDep, include_interactions: bool = False
) -> list[Attachment]:
    """A customer's own attachments; `include_interactions` gives the whole customer file."""
    owner = await owners.customer_owner(session, caller, customer_id)
    if include_interactions:
        return await service.customer_file(session, customer_id)
    return await service.list_for(session, owner)


@router.post(
    "/customers/{customer_id}/interactions/{interaction_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentOut,
)
async def upload_to_interaction(
    customer_id: int,
    interaction_id: int,
    file: FileField,
    caller: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Attachment:
    """Attach a file (minutes, photos) to a logged interaction."""
    owner = await owners.interaction_owner(session, caller, customer_id, interaction_id, edit=True)
    return await _upload(session, storage, settings, owner, file, caller, idempotency_key)


@router.get(
    "/customers/{customer_id}/interactions/{interaction_id}/attachments",
    response_model=list[AttachmentOut],
)
async def interaction_attachments(
    customer_id: int, interaction_id: int, caller: CurrentUser, session: SessionDep
) -> list[Attachment]:
    """An interaction's attachments, oldest first."""
    owner = await owners.interaction_owner(session, caller, customer_id, interaction_id)
    return await service.list_for(session, owner)


async def _visible(session: SessionDep, caller: CurrentUser, attachment_id: int) -> Attachment:
    attachment = await service.live(session, attachment_id)
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} not found")
    await owners.check_scope(session, caller, attachment)
    return attachment


def _disposition(filename: str) -> str:
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    "/attachments/{attachment_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(
    attachment_id: int, caller: CurrentUser, session: SessionDep, storage: StorageDep
) -> StreamingResponse:
    """The file, decrypted and checked against its sha256; always a download, never inline."""
    attachment = await _visible(session, caller, attachment_id)
    try:
        body = await service.plaintext(storage, attachment)
    except IntegrityError as exc:
        raise CorruptAttachment(f"attachment {attachment_id} failed its integrity check") from exc
    return StreamingResponse(
        body,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": _disposition(attachment.filename),
            "Content-Length": str(attachment.size),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete("/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(attachment_id: int, caller: CurrentUser, session: SessionDep) -> Response:
    """Soft-delete (admins); the stored file is kept for the audit trail."""
    if not caller.is_admin:
        raise Forbidden("only admins delete attachments")
    attachment = await _visible(session, caller, attachment_id)
    await service.soft_delete(session, attachment, caller.user_id)
    data = {"filename": attachment.filename, "sha256": attachment.sha256}
    await record_audit(session, caller, "attachment.delete", "attachment", attachment.id, data)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
