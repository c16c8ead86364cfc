"""Declarative base and shared column helpers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """All closedloop tables."""

    metadata = MetaData(naming_convention=NAMING)


def created_at_column() -> Mapped[datetime]:
    """A server-stamped creation time."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
