"""Running a stored import job: resumable, each batch written once (see JobLedger)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.customers.importer import import_customers
from api.deps import Principal
from core import pii
from core.errors import Invalid
from core.settings import Settings
from models import CustomerImportBatch, CustomerImportJob
from services.attachments.envelope import open_stream
from services.attachments.storage import Storage, attachments_dir
from services.customer_import.ledger import JobLedger, done_batches


class UnreadableImport(ValueError):
    """The file itself cannot be imported (no retry helps); the job is marked failed."""


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    storage: Storage,
    settings: Settings,
    job_id: int,
    attempt: int,
    heartbeat: Callable[[int], None],
) -> None:
    """Import the job's file from where earlier attempts stopped; mark it done."""
    async with sessions.begin() as session:
        job = await session.get(CustomerImportJob, job_id)
        if job is None or job.status in {"done", "failed"}:
            return
        done = await done_batches(session, job_id)
        await session.execute(
            update(CustomerImportJob)
            .where(CustomerImportJob.id == job_id)
            .values(
                status="running", started_at=func.coalesce(CustomerImportJob.started_at, func.now())
            )
        )
    principal = Principal(job.requested_by, job.role, job.department_id)
    staging = attachments_dir(settings) / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=staging, suffix=".import") as plain:

        def unseal() -> None:
            chunks = open_stream(
                pii.keyring(), job.storage_key, job.wrapped_key, storage.read(job.storage_key)
            )
            for chunk in chunks:
                plain.write(chunk)
            plain.flush()
            plain.seek(0)

        await asyncio.to_thread(unseal)
        heartbeat(-1)
        try:
            await import_customers(
                sessions,
                principal,
                plain,
                timezone=settings.timezone,
                ledger=JobLedger(job_id, attempt),
                done=done,
                progress=heartbeat,
            )
        except Invalid as exc:
            await mark(sessions, job_id, "failed", exc.message)
            raise UnreadableImport(exc.message) from exc
    await mark(sessions, job_id, "done")


async def mark(
    sessions: async_sessionmaker[AsyncSession], job_id: int, status: str, error: str | None = None
) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(CustomerImportJob)
            .where(CustomerImportJob.id == job_id)
            .values(status=status, error=error, finished_at=datetime.now(UTC))
        )


async def pending_customer_ids(session: AsyncSession, job_id: int) -> list[int]:
    """Customers the job created that await approval (an agent's import)."""
    rows = await session.scalars(
        select(func.unnest(CustomerImportBatch.pending_ids)).where(
            CustomerImportBatch.job_id == job_id
        )
    )
    return list(rows)
