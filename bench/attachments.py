"""Attachment throughput: a 20 MB upload and download over HTTP vs a plain file copy.

`python -m bench.attachments [--mb N]`. The upload goes through uvicorn, multipart parsing,
type detection, sha256, envelope encryption and the local storage backend; the download
decrypts, checks the sha256 and streams. The baseline copies the same file on the same disk
(shutil.copyfile) in the same run. Writes bench/results/attachments.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Stack, bench_stack, load_average, write_result

PDF_HEAD = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
ROUNDS = 3


async def _ticket(stack: Stack) -> int:
    async with stack.http(headers=stack.admin_headers) as http:
        body = {"title": "files", "description": "bench", "category": "bench_files"}
        created = await http.post("/api/v1/tickets", json=body)
        created.raise_for_status()
        return int(created.json()["id"])


async def bench(stack: Stack, megabytes: int = 20) -> dict[str, Any]:
    """Median MB/s of upload, download and the plain copy over ROUNDS rounds."""
    load_before = load_average()
    ticket_id = await _ticket(stack)
    with tempfile.TemporaryDirectory(prefix="closedloop-bench-files-") as tmp:
        source = Path(tmp) / "source.pdf"
        body = PDF_HEAD + os.urandom(megabytes * 2**20 - len(PDF_HEAD))
        await asyncio.to_thread(source.write_bytes, body)
        del body
        size = source.stat().st_size
        copies, uploads, downloads = [], [], []
        async with stack.http(headers=stack.admin_headers) as http:
            for i in range(ROUNDS):
                started = time.perf_counter()
                await asyncio.to_thread(shutil.copyfile, source, Path(tmp) / f"copy-{i}.pdf")
                copies.append(time.perf_counter() - started)
                started = time.perf_counter()
                with open(source, "rb") as handle:  # noqa: ASYNC230 - httpx streams it
                    created = await http.post(
                        f"/api/v1/tickets/{ticket_id}/attachments",
                        files={"file": ("source.pdf", handle, "application/pdf")},
                    )
                uploads.append(time.perf_counter() - started)
                created.raise_for_status()
                started = time.perf_counter()
                received = 0
                async with http.stream("GET", f"/api/v1/attachments/{created.json()['id']}") as r:
                    r.raise_for_status()
                    async for chunk in r.aiter_bytes():
                        received += len(chunk)
                downloads.append(time.perf_counter() - started)
                assert received == size
    mb = size / 2**20

    def rate(seconds: list[float]) -> float:
        return round(mb / statistics.median(seconds), 1)

    copy, up, down = rate(copies), rate(uploads), rate(downloads)
    return {
        "file_mb": round(mb, 1),
        "rounds": ROUNDS,
        "plain_copy_mb_per_s": copy,
        "upload_mb_per_s": up,
        "download_mb_per_s": down,
        "upload_vs_copy": round(up / copy, 3),
        "download_vs_copy": round(down / copy, 3),
        "load_average_before_after": [load_before, load_average()],
        "note": "shared machine: other work runs on the same cores; compare the ratios",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=20)
    megabytes = parser.parse_args().mb

    async def go() -> dict[str, Any]:
        async with bench_stack() as stack:
            return await bench(stack, megabytes)

    print(write_result("attachments", asyncio.run(go())))


if __name__ == "__main__":
    main()
