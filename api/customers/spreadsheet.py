"""Spreadsheets through python-calamine (Rust): XLSX, XLS and ODS, row by row."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, datetime
from typing import IO

from python_calamine import CalamineWorkbook

from core.errors import Invalid
from domain.customer_import import Cell

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

NumberedRow = tuple[int, tuple[Cell, ...]]


def is_spreadsheet(head: bytes) -> bool:
    """XLSX/ODS (zip packages) or XLS (an OLE compound file)."""
    return head.startswith(ZIP_MAGIC) or head.startswith(XLS_MAGIC)


def _cell(value: object) -> Cell:
    if value == "" or value is None:
        return None
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, str | int | float | date):
        return value
    return str(value)


def calamine_rows(stream: IO[bytes]) -> Generator[NumberedRow, None, None]:
    """(spreadsheet row number, values) of the first sheet's rows holding any value."""
    try:
        workbook = CalamineWorkbook.from_filelike(stream)
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # the library raises its own error types per format
        raise Invalid("file", f"the XLSX/XLS/ODS file cannot be read: {exc}") from exc
    first = (sheet.start or (0, 0))[0] + 1
    try:
        for offset, values in enumerate(sheet.iter_rows()):
            cells = [_cell(v) for v in values]
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                yield first + offset, tuple(cells)
    finally:
        workbook.close()
