"""Import as a durable job: upload → CustomerImport workflow; progress by id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import WorkflowIDReusePolicy

from api.attachments.owners import storage
from api.audit.admin_log import record_audit
from api.deps import CurrentUser, Principal, SessionDep, SettingsDep, TemporalDep
from core.errors import NotFound
from models import CustomerImportJob
from services.attachments.storage import Storage
from services.customer_import import jobs
from workflows.customer_import import (
    CustomerImportWorkflow,
    ImportJobInput,
    import_workflow_id,
)

router = APIRouter()


class ImportJobOut(BaseModel):
    id: int
    status: str
    filename: str
    size: int
    sha256: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    batches_done: int
    rows_processed: int
    created: int
    updated: int
    error_count: int
    duplicate_count: int
    errors: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]


async def _view(session: AsyncSession, job: CustomerImportJob) -> ImportJobOut:
    counts = await jobs.progress(session, job)
    return ImportJobOut(
        id=job.id,
        status=job.status,
        filename=job.filename,
        size=job.size,
        sha256=job.sha256,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        **counts,
    )


@router.post("/imports", status_code=status.HTTP_202_ACCEPTED, response_model=ImportJobOut)
async def start_import_job(
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    backend: Annotated[Storage, Depends(storage)],
    file: Annotated[UploadFile, File(description="CSV, XLSX, XLS or ODS")],
    force: bool = False,
) -> ImportJobOut:
    """Store the file and import it in the background; 409 if this file was imported."""
    requester = jobs.Requester(caller.user_id, caller.role, caller.department_id)
    job = await jobs.create_job(
        session, backend, settings, requester, file.file, file.filename, force=force
    )
    await record_audit(session, caller, "customer.import_job", "customer_import_job", job.id)
    await session.commit()
    await client.start_workflow(
        CustomerImportWorkflow.run,
        ImportJobInput(job_id=job.id, heartbeat_seconds=settings.import_heartbeat_seconds),
        id=import_workflow_id(job.id),
        task_queue=settings.temporal_task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    await session.refresh(job)
    return await _view(session, job)


async def _job(session: AsyncSession, caller: Principal, job_id: int) -> CustomerImportJob:
    job = await session.get(CustomerImportJob, job_id)
    if job is None or not (caller.is_admin or job.requested_by == caller.user_id):
        raise NotFound(f"import job {job_id} not found")
    return job


@router.get("/imports/{job_id}", response_model=ImportJobOut)
async def import_job(job_id: int, caller: CurrentUser, session: SessionDep) -> ImportJobOut:
    """Progress, row errors and duplicate merge candidates (the first 1,000 of each)."""
    return await _view(session, await _job(session, caller, job_id))
