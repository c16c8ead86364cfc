"""The personal-data access log: every clear-text read of a ticket's or customer's contact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import AdminUser, SessionDep
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from models import PiiAccess

router = APIRouter(tags=["audit"])


class PiiAccessOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    user_id: int | None
    resource: str
    resource_id: int
    fields: list[str]
    reason: str


@router.get("/audit/pii-access", response_model=Page[PiiAccessOut])
async def list_pii_access(
    _: AdminUser,
    session: SessionDep,
    resource: Literal["ticket", "customer"] | None = None,
    resource_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    user_id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[PiiAccessOut]:
    """Clear-text reads of contact details, newest first (admin)."""
    query = select(PiiAccess)
    if resource is not None:
        query = query.where(PiiAccess.resource == resource)
    if resource_id is not None:
        query = query.where(PiiAccess.resource_id == resource_id)
    if user_id is not None:
        query = query.where(PiiAccess.user_id == user_id)
    rows, next_cursor = await fetch_page(
        session, query, PiiAccess.id, limit, cursor, newest_first=True
    )
    return Page(items=[PiiAccessOut.model_validate(r) for r in rows], next_cursor=next_cursor)
