"""Resolving an attachment's owner within the caller's scope (404 outside it)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.customers import access
from api.deps import Principal
from api.tickets import service as tickets
from core.errors import NotFound
from core.settings import Settings
from models import Attachment, CustomerInteraction
from services.attachments.service import Owner
from services.attachments.storage import Storage, storage_for


def storage(request: Request) -> Storage:
    """The app's storage backend, built once from its settings."""
    state = request.app.state
    if getattr(state, "attachment_storage", None) is None:
        settings: Settings = state.settings
        state.attachment_storage = storage_for(settings)
    backend: Storage = state.attachment_storage
    return backend


async def ticket_owner(session: AsyncSession, caller: Principal, ref: str) -> Owner:
    ticket = await tickets.get_ticket(session, caller, ref)
    return Owner("ticket", ticket_id=ticket.id)


async def customer_owner(
    session: AsyncSession, caller: Principal, customer_id: int, *, edit: bool = False
) -> Owner:
    customer = await access.get_customer(session, caller, customer_id, edit=edit)
    return Owner("customer", customer_id=customer.id)


async def interaction_owner(
    session: AsyncSession,
    caller: Principal,
    customer_id: int,
    interaction_id: int,
    *,
    edit: bool = False,
) -> Owner:
    await access.get_customer(session, caller, customer_id, edit=edit)
    found = await session.scalar(
        select(CustomerInteraction.id).where(
            CustomerInteraction.id == interaction_id,
            CustomerInteraction.customer_id == customer_id,
        )
    )
    if found is None:
        raise NotFound(f"interaction {interaction_id} not found")
    return Owner("interaction", customer_id=customer_id, interaction_id=interaction_id)


async def check_scope(session: AsyncSession, caller: Principal, attachment: Attachment) -> None:
    """NotFound unless the caller may read the attachment's owner."""
    try:
        if attachment.ticket_id is not None:
            await tickets.get_ticket(session, caller, str(attachment.ticket_id))
        elif attachment.customer_id is not None:
            await access.get_customer(session, caller, attachment.customer_id)
    except NotFound as exc:
        raise NotFound(f"attachment {attachment.id} not found") from exc
