"""A worker killed in the middle of an import job: another resumes it, every row once."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from core.db import make_sessionmaker
from core.settings import Settings
from models import Customer, CustomerImportBatch, CustomerImportJob
from tests.api.attachment_support import client_for
from tests.api.customer_support import unique
from tests.api.test_customers_import import csv_bytes
from tests.api.test_import_jobs import rows
from tests.conftest import Org, repo_root
from worker import build_worker
from workflows.customer_import import ImportJobOutcome, import_workflow_id

# Small: the session database is shared, and key rotation tests re-encrypt every contact.
ROWS = 10_000


def _worker_env(settings: Settings, queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "CLOSEDLOOP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_TASK_QUEUE": queue,
        "CLOSEDLOOP_SECRET_KEY": settings.secret_key.get_secret_value(),
        "CLOSEDLOOP_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
        "CLOSEDLOOP_BLIND_INDEX_KEY": settings.blind_index_key.get_secret_value(),
        "CLOSEDLOOP_ATTACHMENT_DIR": settings.attachment_dir,
    }


async def _batches(engine: AsyncEngine, job_id: int) -> int:
    async with make_sessionmaker(engine)() as session:
        count = await session.scalar(
            select(func.count()).where(CustomerImportBatch.job_id == job_id)
        )
    return int(count or 0)


async def test_killed_worker_mid_import_resumes_without_doubles(
    org: Org, settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    queue = f"import-crash-{uuid.uuid4().hex[:8]}"
    overrides = {"temporal_task_queue": queue, "import_heartbeat_seconds": 6.0}
    tag = unique("crash")
    content = csv_bytes(rows(tag, ROWS))
    child = subprocess.Popen(  # noqa: ASYNC220 - started once, before any awaiting
        [sys.executable, "-m", "tests.api.worker_process"],
        env=_worker_env(settings, queue),
        cwd=repo_root(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with client_for(settings, engine, temporal_env.client, **overrides) as client:
            started = await client.post(
                "/api/v1/customers/imports",
                files={"file": ("big.csv", io.BytesIO(content))},
                headers=org.manager.headers,
            )
            assert started.status_code == 202, started.text
            job_id = started.json()["id"]
            # Kill the worker once some batches are committed, well before the last one.
            for _ in range(6000):
                if await _batches(engine, job_id) >= 2:
                    break
                await asyncio.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            at_kill = await _batches(engine, job_id)
            assert 2 <= at_kill < ROWS // 1000
            async with build_worker(
                temporal_env.client, engine, settings.model_copy(update=overrides)
            ):
                handle = temporal_env.client.get_workflow_handle(
                    import_workflow_id(job_id), result_type=ImportJobOutcome
                )
                outcome = await asyncio.wait_for(handle.result(), timeout=240)
            report = (
                await client.get(f"/api/v1/customers/imports/{job_id}", headers=org.manager.headers)
            ).json()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    assert outcome.status == "done"
    assert report["rows_processed"] == ROWS
    assert report["created"] == ROWS
    async with make_sessionmaker(engine)() as session:
        count = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.name.like(f"{tag} %"))
        )
        distinct = await session.scalar(
            select(func.count(func.distinct(Customer.name))).where(Customer.name.like(f"{tag} %"))
        )
        attempts = set(
            await session.scalars(
                select(CustomerImportBatch.attempt).where(CustomerImportBatch.job_id == job_id)
            )
        )
        job = await session.get(CustomerImportJob, job_id)
    assert count == distinct == ROWS
    # Batches from before the kill, and from the attempt that resumed after it.
    assert min(attempts) == 1
    assert max(attempts) >= 2
    assert job is not None
    assert job.status == "done"
