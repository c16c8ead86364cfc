"""Activities of the customer import job: the resumable batch writer, then approvals."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from api.customers.approval import start_approvals
from core.settings import Settings
from models import Customer
from services.attachments.storage import Storage
from services.customer_import.runner import (
    UnreadableImport,
    pending_customer_ids,
    run_job,
)
from workflows.customer_import import UNREADABLE, ImportJobInput


class CustomerImportActivities:
    """Holds the session factory, the file storage and the Temporal client (approvals)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        storage: Storage,
        settings: Settings,
        client: Client,
    ) -> None:
        self._sessions, self._storage = sessions, storage
        self._settings, self._client = settings, client

    @activity.defn(name="run_customer_import")
    async def run_customer_import(self, job: ImportJobInput) -> None:
        """Write every batch not yet written; heartbeats carry the last finished batch.

        Heartbeats go out on a timer, not per batch: a slow batch on a busy machine is not
        taken for a dead worker, while a killed worker falls silent at once.
        """
        last = [-1]
        ticker = asyncio.create_task(_heartbeats(last, job.heartbeat_seconds / 3))
        try:
            await run_job(
                self._sessions,
                self._storage,
                self._settings,
                job.job_id,
                activity.info().attempt,
                lambda batch: last.__setitem__(0, batch),
            )
        except UnreadableImport as exc:
            raise ApplicationError(str(exc), type=UNREADABLE, non_retryable=True) from exc
        finally:
            ticker.cancel()

    @activity.defn(name="finish_customer_import")
    async def finish_customer_import(self, job: ImportJobInput) -> int:
        """Start the approval workflow of every customer the job left pending (idempotent)."""
        async with self._sessions() as session:
            ids = await pending_customer_ids(session, job.job_id)
            customers = (
                list(await session.scalars(select(Customer).where(Customer.id.in_(ids))))
                if ids
                else []
            )
        await start_approvals(self._client, self._settings, customers)
        return len(customers)


async def _heartbeats(last: list[int], every: float) -> None:
    """Heartbeat with the last finished batch number until cancelled."""
    while True:
        activity.heartbeat(last[0])
        await asyncio.sleep(every)
