"""The keyword dictionary admins extend: user terms jieba keeps whole, and stop words."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from api.deps import AdminUser, ManagerOrAdmin, SessionDep
from core.errors import NotFound
from models import ReportWord

router = APIRouter(prefix="/report-words", tags=["reports"])


class WordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    word: str = Field(min_length=1, max_length=64, pattern=r"^[^\s\x00]+$")
    kind: Literal["user", "stop"]


class WordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    word: str
    kind: str


@router.get("", response_model=list[WordOut])
async def list_words(caller: ManagerOrAdmin, session: SessionDep) -> list[ReportWord]:
    """Every added term, alphabetically."""
    return list(await session.scalars(select(ReportWord).order_by(ReportWord.word)))


@router.put("", response_model=WordOut)
async def put_word(body: WordIn, caller: AdminUser, session: SessionDep) -> WordOut:
    """Add or reclassify a term; tickets written from now on use it (backfill for older ones)."""
    stmt = insert(ReportWord).values(word=body.word, kind=body.kind, created_by=caller.user_id)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[ReportWord.word], set_={"kind": body.kind})
    )
    await session.commit()
    return WordOut(word=body.word, kind=body.kind)


@router.delete("/{word}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_word(word: str, caller: AdminUser, session: SessionDep) -> Response:
    """Remove a term."""
    gone = await session.execute(delete(ReportWord).where(ReportWord.word == word))
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no dictionary term {word!r}")
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
