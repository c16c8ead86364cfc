"""Large import files are read and validated in a child process.

Parsing and row checks are most of an import's CPU work; in a child they run on the other
core while the importing process deduplicates, encrypts and writes the previous batch.
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
from typing import IO

from api.customers.import_rows import Validated, validated
from core.errors import Invalid

CHILD_THRESHOLD_BYTES = 2_000_000
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _serve(path: str, out: IO[bytes]) -> None:
    """Child side: pickled batches, then None (or an ("error", message) tuple)."""
    try:
        with open(path, "rb") as stream:
            for batch in validated(stream):
                pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(None, out)
    except Exception as exc:
        message = exc.message if isinstance(exc, Invalid) else str(exc)
        pickle.dump(("error", message), out)
    out.flush()


def _from_child(stream: IO[bytes]) -> Generator[Validated, None, None]:
    name = getattr(stream, "name", None)
    temp: str | None = None
    if not (isinstance(name, str) and os.path.isfile(name)):
        # Uploads are anonymous spooled files: give the child a path to open.
        handle, temp = tempfile.mkstemp(suffix=".import")
        with os.fdopen(handle, "wb") as copy:
            stream.seek(0)
            shutil.copyfileobj(stream, copy)
        name = temp
    # A plain interpreter, not multiprocessing: no dependence on how the app was started.
    child = subprocess.Popen(
        [sys.executable, "-m", "api.customers.import_child", name],
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
            yield message
    except EOFError as exc:
        raise Invalid("file", "the file reader stopped unexpectedly") from exc
    finally:
        child.stdout.close()
        if child.poll() is None:
            child.terminate()
        child.wait(timeout=10)
        if temp is not None:
            os.unlink(temp)


def _size(stream: IO[bytes]) -> int:
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


def validated_batches(
    stream: IO[bytes], *, in_child: bool | None = None
) -> Generator[Validated, None, None]:
    """Validated rows in batches; None: files from CHILD_THRESHOLD_BYTES on use a child."""
    if in_child is None:
        in_child = _size(stream) >= CHILD_THRESHOLD_BYTES
    return _from_child(stream) if in_child else validated(stream)


if __name__ == "__main__":
    _serve(sys.argv[1], sys.stdout.buffer)
