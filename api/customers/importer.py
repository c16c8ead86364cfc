"""Bulk import from CSV/XLSX: stream, validate every row, dedup, insert in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.customers.access import edit_scope
from api.customers.import_child import validated_batches
from api.customers.import_custom import CustomFieldRows
from api.customers.import_rows import Validated
from api.customers.import_store import existing_matches, insert_customers
from api.customers.import_updates import apply_updates
from api.deps import Principal
from domain.custom_fields import Entity
from domain.customer_import import CustomerDraft
from domain.customers import Approval, initial_approval
from services.custom_fields.service import definitions

# Serializes the duplicate check + insert of concurrent imports (transaction-scoped lock).
_IMPORT_LOCK = 0x434C5355  # "CLSU"


@dataclass
class ImportResult:
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    pending_ids: list[int] = field(default_factory=list)

    def add(self, other: ImportResult) -> None:
        self.rows += other.rows
        self.created += other.created
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.errors += other.errors
        self.pending_ids += other.pending_ids


class BatchLedger(Protocol):
    """Where a durable import records each batch, in the batch's own transaction."""

    async def claim(self, session: AsyncSession, batch_no: int) -> bool:
        """False when this batch was already written (by an earlier attempt)."""

    async def record(self, session: AsyncSession, batch_no: int, outcome: ImportResult) -> None:
        """Store the batch's counts, row errors and duplicate candidates."""


# --- importing ---------------------------------------------------------------------------


class _Importer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        principal: Principal,
        timezone: str,
        dry_run: bool,
        ledger: BatchLedger | None = None,
        done: frozenset[int] = frozenset(),
    ) -> None:
        self.sessions, self.principal, self.tz = sessions, principal, timezone
        self.result = ImportResult(dry_run=dry_run)
        self.seen: dict[tuple[str, str], int] = {}  # dedup key → first row with it
        self.ledger, self.done, self.batch_no = ledger, done, 0
        self.fields: CustomFieldRows | None = None

    def _classify(
        self, batch: Validated, outcome: ImportResult
    ) -> tuple[list[tuple[int, CustomerDraft]], list[tuple[int, CustomerDraft]]]:
        """Row errors and in-file duplicates into `outcome`; the new rows and the updates."""
        outcome.rows += len(batch)
        fresh: list[tuple[int, CustomerDraft]] = []
        updates: list[tuple[int, CustomerDraft]] = []
        for number, draft, errors in batch:
            if draft is not None and not draft.code and self.fields and self.fields.check(draft):
                errors, draft = self.fields.errors(draft), None
            if draft is None:
                outcome.errors += [
                    {"row": number, "field": e.field, "message": e.message} for e in errors
                ]
            elif draft.code:
                updates.append((number, draft))
            else:
                matches = [
                    {"row": self.seen[key], "reason": key[0]}
                    for key in draft.dedup_keys()
                    if key in self.seen
                ]
                if matches:
                    outcome.duplicates.append({"row": number, "matches": matches})
                    continue
                for key in draft.dedup_keys():
                    self.seen[key] = number
                fresh.append((number, draft))
        return fresh, updates

    async def batch(self, batch: Validated) -> None:
        if self.fields is None:
            async with self.sessions() as session:
                self.fields = CustomFieldRows(await definitions(session, Entity.CUSTOMER))
        batch_no, self.batch_no = self.batch_no, self.batch_no + 1
        outcome = ImportResult(dry_run=self.result.dry_run)
        fresh, updates = self._classify(batch, outcome)
        if batch_no in self.done:
            return  # written by an earlier attempt: only its in-file dedup keys were needed
        if outcome.dry_run:
            if fresh or updates:
                async with self.sessions() as session:
                    await self._write(session, fresh, updates, outcome)
        elif fresh or updates or self.ledger is not None:
            async with self.sessions.begin() as session:
                await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IMPORT_LOCK})
                if self.ledger is not None and not await self.ledger.claim(session, batch_no):
                    return
                await self._write(session, fresh, updates, outcome)
                if self.ledger is not None:
                    await self.ledger.record(session, batch_no, outcome)
        self.result.add(outcome)

    async def _write(
        self,
        session: AsyncSession,
        fresh: list[tuple[int, CustomerDraft]],
        updates: list[tuple[int, CustomerDraft]],
        outcome: ImportResult,
    ) -> None:
        known = await existing_matches(session, [d for _, d in fresh]) if fresh else {}
        creatable = []
        for number, draft in fresh:
            matches = [known[key] for key in draft.dedup_keys() if key in known]
            if matches:
                outcome.duplicates.append({"row": number, "matches": matches})
            else:
                creatable.append(draft)
        if updates:
            updated, errors = await apply_updates(
                session, self.principal, edit_scope(self.principal), updates, outcome.dry_run
            )
            outcome.updated += updated
            outcome.errors += errors
        if creatable and not outcome.dry_run:
            ids = await insert_customers(session, self.principal, self.tz, creatable)
            if initial_approval(self.principal.role) is Approval.PENDING:
                outcome.pending_ids += ids
        outcome.created += len(creatable)


async def import_customers(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    stream: IO[bytes],
    *,
    timezone: str,
    dry_run: bool = False,
    ledger: BatchLedger | None = None,
    done: frozenset[int] = frozenset(),
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a file: one transaction per batch; the next batch is read meanwhile.

    A durable job passes its `ledger` (each batch recorded with its writes), the batches an
    earlier attempt `done` (skipped, only read for in-file duplicates) and a `progress`
    callback (the worker's heartbeat) called with each finished batch number.
    """
    batches = validated_batches(stream)
    importer = _Importer(sessions, principal, timezone, dry_run, ledger, done)
    upcoming: asyncio.Future[Validated] | None = None
    try:
        empty: Validated = []
        batch = await asyncio.to_thread(next, batches, empty)
        while batch:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, empty))
            await importer.batch(batch)
            if progress is not None:
                progress(importer.batch_no)
            batch, upcoming = await upcoming, None
    finally:
        if upcoming is not None:
            # Let the reader thread finish its batch before the generator is closed.
            await asyncio.wait([upcoming])
        batches.close()
    result = importer.result
    result.errors.sort(key=lambda e: e["row"])
    result.duplicates.sort(key=lambda d: d["row"])
    return result
