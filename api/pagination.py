"""Opaque keyset cursors for list endpoints."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import BigInteger, Select, literal
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.errors import Invalid

T = TypeVar("T")

LimitQuery = Annotated[int, Query(ge=1, le=200)]
CursorQuery = Annotated[str | None, Query(max_length=200)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id after which the next page starts; 422 for a cursor we did not issue."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
        last_id = value["id"]
        # bool is an int to Python, and ids beyond bigint would fail in the database.
        if type(last_id) is not int or not 0 < last_id < 2**63:
            raise TypeError
        return last_id
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise Invalid("query.cursor", "malformed cursor") from exc


async def fetch_page(
    session: AsyncSession,
    query: Select[Any],
    id_column: InstrumentedAttribute[int],
    limit: int,
    cursor: str | None,
    *,
    newest_first: bool = False,
) -> tuple[list[Any], str | None]:
    """Rows of one keyset page ordered by `id_column`, and the cursor of the next page."""
    after = decode_cursor(cursor)
    if after is not None:
        # A bigint bind keeps a forged id beyond an int4 column's range a plain comparison.
        bound = literal(after, BigInteger())
        query = query.where(id_column < bound if newest_first else id_column > bound)
    order = id_column.desc() if newest_first else id_column.asc()
    rows = list(await session.scalars(query.order_by(order).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(getattr(rows[limit - 1], id_column.key))
    return rows, None
