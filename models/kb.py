"""Knowledge-base articles; `search_vector` is generated from jieba-segmented tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Computed, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('simple', coalesce(title_tokens, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(body_tokens, '')), 'B')"
)


class KbArticle(Base):
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    category: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    source_ticket_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Space-separated lower-case tokens (jieba for Chinese, words for Latin script).
    title_tokens: Mapped[str] = mapped_column(Text, default="")
    body_tokens: Mapped[str] = mapped_column(Text, default="")
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True)
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        Index("ix_kb_articles_search_vector", "search_vector", postgresql_using="gin"),
    )
