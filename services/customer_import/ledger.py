"""The job's batch ledger: a batch row written in the same transaction as its customers."""

from __future__ import annotations

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.customers.importer import ImportResult
from models import CustomerImportBatch

# Row errors and duplicate candidates kept per batch (a 1,000-row batch has at most 1,000).
_KEEP = 1000


class JobLedger:
    """Claims and records batches of one import job for one activity attempt."""

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id, self.attempt = job_id, attempt

    async def claim(self, session: AsyncSession, batch_no: int) -> bool:
        claimed = await session.scalar(
            insert(CustomerImportBatch)
            .values(
                job_id=self.job_id,
                batch_no=batch_no,
                rows=0,
                created=0,
                updated=0,
                errors=[],
                duplicates=[],
                pending_ids=[],
                attempt=self.attempt,
            )
            .on_conflict_do_nothing(index_elements=["job_id", "batch_no"])
            .returning(CustomerImportBatch.batch_no)
        )
        return claimed is not None

    async def record(self, session: AsyncSession, batch_no: int, outcome: ImportResult) -> None:
        await session.execute(
            update(CustomerImportBatch)
            .where(
                CustomerImportBatch.job_id == self.job_id,
                CustomerImportBatch.batch_no == batch_no,
            )
            .values(
                rows=outcome.rows,
                created=outcome.created,
                updated=outcome.updated,
                errors=outcome.errors[:_KEEP],
                duplicates=outcome.duplicates[:_KEEP],
                pending_ids=outcome.pending_ids,
            )
        )


async def done_batches(session: AsyncSession, job_id: int) -> frozenset[int]:
    rows = await session.scalars(
        text("SELECT batch_no FROM customer_import_batches WHERE job_id = :j"), {"j": job_id}
    )
    return frozenset(rows)
