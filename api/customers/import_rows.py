"""An import file as validated rows: CSV (UTF-8 or GB18030), XLSX, XLS or ODS, in batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterator
from typing import IO

from api.customers.spreadsheet import calamine_rows, is_spreadsheet
from core.errors import Invalid
from domain.customer_import import Cell, CustomerDraft, RowError, header_map, validate_row

BATCH_SIZE = 1000

RawRow = tuple[int, dict[str, Cell]]
# (spreadsheet row number, the valid draft or None, the row's errors)
Validated = list[tuple[int, CustomerDraft | None, list[RowError]]]


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


def read_rows(stream: IO[bytes]) -> Generator[RawRow, None, None]:
    """(spreadsheet row number, field → cell) for every non-empty data row of any format."""
    spreadsheet = is_spreadsheet(stream.read(8))
    stream.seek(0)
    rows: Generator[tuple[int, tuple[Cell, ...]], None, None] = (
        calamine_rows(stream)
        if spreadsheet
        else ((n, tuple(r)) for n, r in enumerate(csv.reader(_csv_text(stream)), start=1))
    )
    try:
        header = next(rows, None)
        if header is None:
            raise Invalid("file", "the file is empty")
        mapping, _unknown = header_map(header[1])
        if "name" not in mapping.values():
            raise Invalid("file", "the header row has no 'name' column; download the template")
        for number, cells in rows:
            raw = {name: cells[i] for i, name in mapping.items() if i < len(cells)}
            if any(value not in (None, "") for value in raw.values()):
                yield number, raw
    finally:
        rows.close()  # closes the workbook early on failure


def next_batch(rows: Iterator[RawRow]) -> Validated:
    """Read and validate up to BATCH_SIZE rows (CPU work: run it off the event loop)."""
    batch: Validated = []
    for number, raw in rows:
        draft, errors = validate_row(raw)
        batch.append((number, draft, errors))
        if len(batch) == BATCH_SIZE:
            break
    return batch


def validated(stream: IO[bytes]) -> Generator[Validated, None, None]:
    """Batches of validated rows, read in this process."""
    rows = read_rows(stream)
    try:
        while batch := next_batch(rows):
            yield batch
    finally:
        rows.close()
