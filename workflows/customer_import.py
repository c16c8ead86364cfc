"""A customer import job: one resumable activity writes the batches, then approvals start."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

UNREADABLE = "UnreadableImport"


class ImportJobInput(BaseModel):
    job_id: int
    # The worker heartbeats after every batch; a silent worker is replaced after this long.
    heartbeat_seconds: float = 60.0


class ImportJobOutcome(BaseModel):
    job_id: int
    status: str


def import_workflow_id(job_id: int) -> str:
    return f"customer-import-{job_id}"


@workflow.defn(name="CustomerImport")
class CustomerImportWorkflow:
    """Retries resume from the last committed batch; an unreadable file fails the job."""

    @workflow.run
    async def run(self, job: ImportJobInput) -> ImportJobOutcome:
        try:
            await workflow.execute_activity(
                "run_customer_import",
                job,
                start_to_close_timeout=timedelta(hours=12),
                heartbeat_timeout=timedelta(seconds=job.heartbeat_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(seconds=60),
                    non_retryable_error_types=[UNREADABLE],
                ),
            )
        except ActivityError:
            return ImportJobOutcome(job_id=job.job_id, status="failed")
        await workflow.execute_activity(
            "finish_customer_import",
            job,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60)
            ),
        )
        return ImportJobOutcome(job_id=job.job_id, status="done")
