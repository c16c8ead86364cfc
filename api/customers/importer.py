"""Bulk import from CSV/XLSX: stream, validate every row, dedup, insert in batches."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.customers.access import edit_scope
from api.customers.import_child import validated_batches
from api.customers.import_rows import Validated
from api.customers.import_store import existing_matches, insert_customers
from api.customers.import_updates import apply_updates
from api.deps import Principal
from domain.customer_import import CustomerDraft
from domain.customers import Approval, initial_approval

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


# --- importing ---------------------------------------------------------------------------


class _Importer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        principal: Principal,
        timezone: str,
        dry_run: bool,
    ) -> None:
        self.sessions, self.principal, self.tz = sessions, principal, timezone
        self.result = ImportResult(dry_run=dry_run)
        self.seen: dict[tuple[str, str], int] = {}  # dedup key → first row with it

    async def batch(self, batch: Validated) -> None:
        result = self.result
        result.rows += len(batch)
        fresh: list[tuple[int, CustomerDraft]] = []
        updates: list[tuple[int, CustomerDraft]] = []
        for number, draft, errors in batch:
            if draft is None:
                result.errors += [
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
                    result.duplicates.append({"row": number, "matches": matches})
                    continue
                for key in draft.dedup_keys():
                    self.seen[key] = number
                fresh.append((number, draft))
        if not fresh and not updates:
            return
        if result.dry_run:
            async with self.sessions() as session:
                await self._write(session, fresh, updates)
            return
        async with self.sessions.begin() as session:
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IMPORT_LOCK})
            await self._write(session, fresh, updates)

    async def _write(
        self,
        session: AsyncSession,
        fresh: list[tuple[int, CustomerDraft]],
        updates: list[tuple[int, CustomerDraft]],
    ) -> None:
        known = await existing_matches(session, [d for _, d in fresh])
        creatable = []
        for number, draft in fresh:
            matches = [known[key] for key in draft.dedup_keys() if key in known]
            if matches:
                self.result.duplicates.append({"row": number, "matches": matches})
            else:
                creatable.append(draft)
        if updates:
            updated, errors = await apply_updates(
                session, self.principal, edit_scope(self.principal), updates, self.result.dry_run
            )
            self.result.updated += updated
            self.result.errors += errors
        if creatable and not self.result.dry_run:
            ids = await insert_customers(session, self.principal, self.tz, creatable)
            if initial_approval(self.principal.role) is Approval.PENDING:
                self.result.pending_ids += ids
        self.result.created += len(creatable)


async def import_customers(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    stream: IO[bytes],
    *,
    timezone: str,
    dry_run: bool = False,
) -> ImportResult:
    """Import a CSV/XLSX file: one transaction per batch; the next batch is read meanwhile."""
    batches = validated_batches(stream)
    importer = _Importer(sessions, principal, timezone, dry_run)
    upcoming: asyncio.Future[Validated] | None = None
    try:
        empty: Validated = []
        batch = await asyncio.to_thread(next, batches, empty)
        while batch:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, empty))
            await importer.batch(batch)
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
