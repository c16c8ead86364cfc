"""Knowledge-base bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
Tag = Annotated[str, Field(min_length=1, max_length=64)]


class ArticleIn(BaseModel):
    model_config = _STRICT
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=200_000)
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    category: str | None = Field(None, max_length=64)
    status: Literal["draft", "published"] = "draft"
    source_ticket_id: int | None = Field(None, gt=0, lt=2**63)


class ArticlePatch(BaseModel):
    model_config = _STRICT
    title: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, min_length=1, max_length=200_000)
    tags: list[Tag] | None = Field(None, max_length=30)
    category: str | None = Field(None, max_length=64)
    status: Literal["draft", "published"] | None = None


class ArticleOut(BaseModel):
    id: int
    title: str
    body: str
    html: str
    tags: list[str]
    category: str | None
    status: str
    source_ticket_id: int | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    score: float | None = None


class ArticleList(BaseModel):
    items: list[ArticleOut]
    next_cursor: str | None = None
