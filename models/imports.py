"""Customer import jobs: the stored upload, its sha256, and one result row per written batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class CustomerImportJob(Base):
    """One uploaded file imported by the CustomerImport workflow."""

    __tablename__ = "customer_import_jobs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    # The upload, sealed like an attachment (envelope key wrapped by the master keyring).
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_customer_import_jobs_sha256", "sha256"),)


class CustomerImportBatch(Base):
    """A committed batch: written in the same transaction as its customers, so never twice."""

    __tablename__ = "customer_import_batches"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("customer_import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    batch_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    duplicates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    pending_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = created_at_column()
