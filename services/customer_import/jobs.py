"""Import jobs: store the upload (sealed), refuse a file already imported, report progress."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core import pii
from core.errors import Conflict
from core.settings import Settings
from domain.attachments import sanitize_filename
from models import CustomerImportBatch, CustomerImportJob
from services.attachments.envelope import seal_stream
from services.attachments.storage import Storage, attachments_dir

_READ = 1 << 20
# Row errors / duplicate candidates listed in a progress report (the counts are complete).
REPORT_LIMIT = 1000


@dataclass(frozen=True)
class Requester:
    user_id: int
    role: str
    department_id: int | None


def _sha256(stream: IO[bytes]) -> tuple[str, int]:
    stream.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_READ):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


async def create_job(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    requester: Requester,
    stream: IO[bytes],
    filename: str | None,
    *,
    force: bool = False,
) -> CustomerImportJob:
    """Store the upload sealed and record a queued job; 409 if the same file is imported."""
    sha256, size = await asyncio.to_thread(_sha256, stream)
    # One job per file at a time: concurrent uploads of the same file wait here.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:s, 0))"), {"s": sha256}
    )
    if not force:
        existing = await session.scalar(
            select(CustomerImportJob.id).where(
                CustomerImportJob.sha256 == sha256, CustomerImportJob.status != "failed"
            )
        )
        if existing is not None:
            raise Conflict(
                f"this file was already imported as job {existing}; pass force=true to repeat",
                details={"job_id": existing},
            )
    key = f"imports/{uuid.uuid4().hex}"
    staging = attachments_dir(settings) / ".staging"
    staging.mkdir(parents=True, exist_ok=True)

    def seal() -> tuple[Path, bytes]:
        handle = tempfile.NamedTemporaryFile(dir=staging, delete=False)  # noqa: SIM115
        with handle:
            stream.seek(0)
            chunks = iter(lambda: stream.read(_READ), b"")
            sealed = seal_stream(pii.keyring(), key, chunks, handle)
        return Path(handle.name), sealed.wrapped_key

    path, wrapped = await asyncio.to_thread(seal)
    try:
        await storage.put(key, path)
    finally:
        if path.exists():
            os.unlink(path)
    job = CustomerImportJob(
        sha256=sha256,
        filename=sanitize_filename(filename, "csv"),
        size=size,
        storage_key=key,
        wrapped_key=wrapped,
        status="queued",
        requested_by=requester.user_id,
        role=requester.role,
        department_id=requester.department_id,
    )
    session.add(job)
    await session.flush()
    return job


async def progress(session: AsyncSession, job: CustomerImportJob) -> dict[str, Any]:
    """Counts over the committed batches, with the first row errors and duplicate candidates."""
    of_job = CustomerImportBatch.job_id == job.id
    totals = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(CustomerImportBatch.rows), 0),
                func.coalesce(func.sum(CustomerImportBatch.created), 0),
                func.coalesce(func.sum(CustomerImportBatch.updated), 0),
                func.coalesce(func.sum(func.jsonb_array_length(CustomerImportBatch.errors)), 0),
                func.coalesce(func.sum(func.jsonb_array_length(CustomerImportBatch.duplicates)), 0),
            ).where(of_job)
        )
    ).one()
    errors: list[dict[str, Any]] = []
    duplicates: list[dict[str, Any]] = []
    batches = await session.execute(
        select(CustomerImportBatch.errors, CustomerImportBatch.duplicates)
        .where(of_job)
        .order_by(CustomerImportBatch.batch_no)
    )
    for batch_errors, batch_duplicates in batches:
        if len(errors) < REPORT_LIMIT:
            errors += batch_errors[: REPORT_LIMIT - len(errors)]
        if len(duplicates) < REPORT_LIMIT:
            duplicates += batch_duplicates[: REPORT_LIMIT - len(duplicates)]
        if len(errors) >= REPORT_LIMIT and len(duplicates) >= REPORT_LIMIT:
            break
    return {
        "batches_done": totals[0],
        "rows_processed": totals[1],
        "created": totals[2],
        "updated": totals[3],
        "error_count": totals[4],
        "duplicate_count": totals[5],
        "errors": errors,
        "duplicates": duplicates,
    }
