"""The admin audit log: record_audit() inside a request's transaction, GET /audit/log to read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import AdminUser, Principal, SessionDep
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from models import AuditEntry

router = APIRouter(tags=["audit"])


async def record_audit(
    session: AsyncSession,
    caller: Principal,
    action: str,
    resource: str,
    resource_id: object | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the caller's transaction; it commits or rolls back with the action."""
    session.add(
        AuditEntry(
            actor_id=caller.user_id,
            action=action,
            resource=resource,
            resource_id=None if resource_id is None else str(resource_id)[:64],
            data={"via_api_key": caller.via_api_key, **(data or {})},
        )
    )


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_id: int | None
    action: str
    resource: str
    resource_id: str | None
    data: dict[str, Any]


@router.get("/audit/log", response_model=Page[AuditEntryOut])
async def list_audit_log(
    _: AdminUser,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AuditEntryOut]:
    """Admin actions, newest first; `action` filters exactly (e.g. user.create) (admin)."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    rows, next_cursor = await fetch_page(
        session, query, AuditEntry.id, limit, cursor, newest_first=True
    )
    return Page(items=[AuditEntryOut.model_validate(r) for r in rows], next_cursor=next_cursor)
