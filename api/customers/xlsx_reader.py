"""XLSX rows via openpyxl read-only streaming; large files are parsed in a child process.

openpyxl spends ~50 µs per row of Python work, the largest single cost of an import, so a
large workbook is read on the second core while this process validates and writes.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

from core.errors import Invalid

# Below this size the child process costs more than it saves.
PROCESS_THRESHOLD_BYTES = 2_000_000
_CHUNK = 500
_PROJECT_ROOT = Path(__file__).resolve().parents[2]

Cells = tuple[Any, ...]


def _open_rows(source: str | IO[bytes]) -> Generator[Cells, None, None]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # zip or XML errors: the upload is not a workbook
        raise Invalid("file", f"not a readable XLSX workbook ({type(exc).__name__})") from exc
    try:
        sheet = workbook.active
        if sheet is not None:
            yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _stream_to(path: str, out: IO[bytes]) -> None:
    """Child side: pickled chunks of rows, then None (or an ("error", message) tuple)."""
    try:
        chunk: list[Cells] = []
        for row in _open_rows(path):
            chunk.append(row)
            if len(chunk) == _CHUNK:
                pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
                chunk = []
        pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(None, out)
    except Exception as exc:
        pickle.dump(("error", exc.message if isinstance(exc, Invalid) else str(exc)), out)
    out.flush()


def _size(stream: IO[bytes]) -> int:
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


def _in_process(stream: IO[bytes]) -> Generator[Cells, None, None]:
    name = getattr(stream, "name", None)
    temp: str | None = None
    if not (isinstance(name, str) and os.path.isfile(name)):
        # Uploads are anonymous spooled files: give the child a path to open.
        handle, temp = tempfile.mkstemp(suffix=".xlsx")
        with os.fdopen(handle, "wb") as copy:
            stream.seek(0)
            shutil.copyfileobj(stream, copy)
        name = temp
    # A plain interpreter, not multiprocessing: no dependence on how the app was started.
    child = subprocess.Popen(
        [sys.executable, "-m", "api.customers.xlsx_reader", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=_PROJECT_ROOT,
    )
    assert child.stdout is not None
    try:
        while True:
            # Only our own child writes this pipe: unpickling it is safe.
            message = pickle.load(child.stdout)
            if message is None:
                return
            if isinstance(message, tuple):
                raise Invalid("file", message[1])
            yield from message
    except EOFError as exc:
        raise Invalid("file", "the XLSX reader stopped unexpectedly") from exc
    finally:
        child.stdout.close()
        if child.poll() is None:
            child.terminate()
        child.wait(timeout=10)
        if temp is not None:
            os.unlink(temp)


def sheet_rows(
    stream: IO[bytes], *, in_process: bool | None = None
) -> Generator[Cells, None, None]:
    """Rows of the active sheet as value tuples; `in_process` None decides by size."""
    if in_process is None:
        in_process = _size(stream) >= PROCESS_THRESHOLD_BYTES
    return _in_process(stream) if in_process else _open_rows(stream)


if __name__ == "__main__":
    _stream_to(sys.argv[1], sys.stdout.buffer)
