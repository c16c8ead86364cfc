"""CSV: UTF-8 with a BOM (Excel opens Chinese correctly), streamed row by row, no cap."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from services.reports.exports.cells import cell_text

BOM = "\ufeff"
CHUNK_ROWS = 2000


class _Line:
    """A file-like sink that hands back what csv.writer wrote."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def take(self) -> str:
        out = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return out


def csv_chunks(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """BOM + header, then the rows in chunks of CHUNK_ROWS."""
    sink = _Line()
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow(columns)
    yield (BOM + sink.take()).encode()
    pending = 0
    for row in rows:
        writer.writerow([cell_text(row.get(c)) for c in columns])
        pending += 1
        if pending >= CHUNK_ROWS:
            yield sink.take().encode()
            pending = 0
    if pending:
        yield sink.take().encode()


async def with_header(columns: Sequence[str], body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """BOM and header line, then CSV lines produced elsewhere (a COPY ... TO STDOUT)."""
    yield (BOM + ",".join(columns) + "\n").encode()
    async for chunk in body:
        yield chunk
