"""Bulk import from CSV/XLSX: stream, validate every row, dedup, insert in batches."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.customers.access import edit_scope
from api.customers.import_store import existing_matches, insert_customers
from api.customers.import_updates import apply_updates
from api.customers.xlsx_reader import sheet_rows
from api.deps import Principal
from core.errors import Invalid
from domain.customer_import import Cell, CustomerDraft, RowError, header_map, validate_row
from domain.customers import Approval, initial_approval

BATCH_SIZE = 1000
_XLSX_MAGIC = b"PK\x03\x04"
# Serializes the duplicate check + insert of concurrent imports (transaction-scoped lock).
_IMPORT_LOCK = 0x434C5355  # "CLSU"

RawRow = tuple[int, dict[str, Cell]]


@dataclass
class ImportResult:
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    pending_ids: list[int] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------------


def _csv_text(stream: IO[bytes]) -> io.TextIOWrapper:
    """UTF-8 (with or without BOM), else GB18030 as saved by Chinese Excel."""
    head = stream.read(64 * 1024)
    stream.seek(0)
    try:
        head.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        encoding = "utf-8-sig" if exc.start >= len(head) - 3 else "gb18030"
    return io.TextIOWrapper(stream, encoding=encoding, newline="")


def read_rows(
    stream: IO[bytes], xlsx_in_process: bool | None = None
) -> Generator[RawRow, None, None]:
    """(spreadsheet row number, field → cell) for every non-empty data row; XLSX or CSV."""
    is_xlsx = stream.read(4) == _XLSX_MAGIC
    stream.seek(0)
    rows: Generator[tuple[Cell, ...], None, None] = (
        sheet_rows(stream, in_process=xlsx_in_process)
        if is_xlsx
        else (tuple(r) for r in csv.reader(_csv_text(stream)))
    )
    try:
        header = next(rows, None)
        if header is None:
            raise Invalid("file", "the file is empty")
        mapping, _unknown = header_map(header)
        if "name" not in mapping.values():
            raise Invalid("file", "the header row has no 'name' column; download the template")
        for number, cells in enumerate(rows, start=2):
            raw = {name: cells[i] for i, name in mapping.items() if i < len(cells)}
            if any(value not in (None, "") for value in raw.values()):
                yield number, raw
    finally:
        rows.close()


def _next_batch(rows: Iterator[RawRow]) -> list[tuple[int, CustomerDraft | None, list[RowError]]]:
    """Read and validate up to BATCH_SIZE rows (CPU work, run off the event loop)."""
    batch = []
    for number, raw in rows:
        draft, errors = validate_row(raw)
        batch.append((number, draft, errors))
        if len(batch) == BATCH_SIZE:
            break
    return batch


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

    async def batch(self, batch: list[tuple[int, CustomerDraft | None, list[RowError]]]) -> None:
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
    xlsx_in_process: bool | None = None,
) -> ImportResult:
    """Import a CSV/XLSX file: one transaction per batch; the next batch is parsed meanwhile."""
    rows = read_rows(stream, xlsx_in_process)
    importer = _Importer(sessions, principal, timezone, dry_run)
    upcoming: asyncio.Future[list[Any]] | None = None
    try:
        batch = await asyncio.to_thread(_next_batch, rows)
        while batch:
            upcoming = asyncio.ensure_future(asyncio.to_thread(_next_batch, rows))
            await importer.batch(batch)
            batch, upcoming = await upcoming, None
    finally:
        if upcoming is not None:
            # Let the reader thread finish its batch before the generator is closed.
            await asyncio.wait([upcoming])
        rows.close()  # stops an XLSX reader process early on failure
    result = importer.result
    result.errors.sort(key=lambda e: e["row"])
    result.duplicates.sort(key=lambda d: d["row"])
    return result
