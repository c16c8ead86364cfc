"""Import as a durable job: progress by id, sha256 dedup, and the same report as inline."""

from __future__ import annotations

import io
import random

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from core.db import make_sessionmaker
from models import Customer
from tests.api.customer_support import unique
from tests.api.test_customers_import import csv_bytes
from tests.conftest import Org
from workflows.customer_import import ImportJobOutcome, import_workflow_id

JOBS = "/api/v1/customers/imports"


def rows(tag: str, count: int) -> list[list[str]]:
    """`count` valid rows with unique names and mobiles (a random block of 136 numbers)."""
    base = random.randrange(10**8 - count)
    return [
        [f"{tag} 公司 {i}", "b2b", "上海", "ordinary", "lead", "导入", "2020-01-02"]
        + [f"136{base + i:08d}", f"buyer{i}@example.com"]
        for i in range(count)
    ]


async def finished(
    http: httpx.AsyncClient, env: WorkflowEnvironment, headers: dict[str, str], job_id: int
) -> dict[str, object]:
    handle = env.client.get_workflow_handle(
        import_workflow_id(job_id), result_type=ImportJobOutcome
    )
    outcome = await handle.result()
    assert outcome.status in {"done", "failed"}
    report = await http.get(f"{JOBS}/{job_id}", headers=headers)
    assert report.status_code == 200
    return report.json()  # type: ignore[no-any-return]


async def test_import_job_reports_progress_errors_and_duplicates(
    http: httpx.AsyncClient, org: Org, temporal_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    tag = unique("job")
    data = rows(tag, 2500)
    data[10][7] = "12345"  # a bad phone: a row error
    data[20][0] = data[19][0]  # same name + region as the row before: a duplicate candidate
    content = csv_bytes(data)
    started = await http.post(
        JOBS, files={"file": ("客户.csv", io.BytesIO(content))}, headers=org.manager.headers
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] in {"queued", "running", "done"}
    report = await finished(http, temporal_env, org.manager.headers, job["id"])
    assert report["status"] == "done"
    assert report["rows_processed"] == 2500
    assert report["batches_done"] == 3
    assert report["created"] == 2498
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(12, "phone")]
    assert report["duplicates"][0]["row"] == 22
    async with make_sessionmaker(engine)() as session:
        count = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.name.like(f"{tag} %"))
        )
    assert count == 2498
    # Someone else cannot read the job.
    other = await http.get(f"{JOBS}/{job['id']}", headers=org.agent.headers)
    assert other.status_code == 404
    # The same file again is refused, naming the job that imported it.
    again = await http.post(
        JOBS, files={"file": ("copy.csv", io.BytesIO(content))}, headers=org.manager.headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"]["job_id"] == job["id"]
    # Forced, it runs and finds every row already there.
    forced = await http.post(
        JOBS,
        params={"force": True},
        files={"file": ("copy.csv", io.BytesIO(content))},
        headers=org.manager.headers,
    )
    assert forced.status_code == 202
    rerun = await finished(http, temporal_env, org.manager.headers, forced.json()["id"])
    assert rerun["created"] == 0
    assert rerun["duplicate_count"] == 2499


async def test_an_unreadable_file_fails_the_job_with_its_reason(
    http: httpx.AsyncClient, org: Org, temporal_env: WorkflowEnvironment
) -> None:
    content = f"nothing,useful\n{unique('x')},1\n".encode()
    started = await http.post(
        JOBS, files={"file": ("bad.csv", io.BytesIO(content))}, headers=org.manager.headers
    )
    report = await finished(http, temporal_env, org.manager.headers, started.json()["id"])
    assert report["status"] == "failed"
    assert "name" in str(report["error"])
