"""Customer import as a job: N rows through `POST /customers/imports` until done, over HTTP.

`python -m bench.import_job [--rows N]`. The baseline, in the same run and stack, is the
synchronous `POST /customers/import` of another N-row file (different customers). Peak RSS
is this process's (API and worker run in it), sampled while the job runs. Writes
bench/results/import_job.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.common import Stack, bench_stack, load_average, write_result
from bench.import_customers import HEADER, row


def _write_csv(path: Path, first: int, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(first, first + rows):
            writer.writerow(row(i))


def _client(stack: Stack) -> httpx.AsyncClient:
    """A client that waits as long as a large synchronous import takes."""
    return httpx.AsyncClient(
        base_url=stack.base_url,
        headers=stack.admin_headers,
        timeout=1800,
        transport=stack.transport,
    )


async def _job(stack: Stack, path: Path) -> dict[str, Any]:
    process = psutil.Process()
    peak = process.memory_info().rss
    async with _client(stack) as http:
        started = time.perf_counter()
        with open(path, "rb") as handle:  # noqa: ASYNC230 - httpx streams it
            created = await http.post(
                "/api/v1/customers/imports", files={"file": ("job.csv", handle, "text/csv")}
            )
        created.raise_for_status()
        accepted = time.perf_counter() - started
        job_id = created.json()["id"]
        while True:
            await asyncio.sleep(0.25)
            peak = max(peak, process.memory_info().rss)
            report = (await http.get(f"/api/v1/customers/imports/{job_id}")).json()
            if report["status"] in {"done", "failed"}:
                break
        seconds = time.perf_counter() - started
    return {
        "status": report["status"],
        "rows": report["rows_processed"],
        "created": report["created"],
        "seconds": round(seconds, 2),
        "accepted_after_seconds": round(accepted, 2),
        "rows_per_second": round(report["rows_processed"] / seconds),
        "peak_rss_mb": round(peak / 2**20, 1),
    }


async def _inline(stack: Stack, path: Path) -> dict[str, Any]:
    async with _client(stack) as http:
        started = time.perf_counter()
        with open(path, "rb") as handle:  # noqa: ASYNC230 - httpx streams it
            response = await http.post(
                "/api/v1/customers/import", files={"file": ("inline.csv", handle, "text/csv")}
            )
        seconds = time.perf_counter() - started
    response.raise_for_status()
    return {"created": response.json()["created"], "seconds": round(seconds, 2)}


async def bench(stack: Stack, rows: int) -> dict[str, Any]:
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="closedloop-bench-import-") as tmp:
        job_file, inline_file = Path(tmp) / "job.csv", Path(tmp) / "inline.csv"
        await asyncio.to_thread(_write_csv, job_file, 0, rows)
        await asyncio.to_thread(_write_csv, inline_file, rows, rows)
        job = await _job(stack, job_file)
        inline = await _inline(stack, inline_file)
    return {
        "rows": rows,
        "job": job,
        "baseline_inline_import": inline,
        "ratio_job_vs_inline": round(job["seconds"] / inline["seconds"], 2),
        "target_seconds": 30.0 * rows / 100_000 if rows <= 100_000 else 300.0 * rows / 1_000_000,
        "load_average_before_after": [load_before, load_average()],
        "note": "shared machine: other work runs on the same cores; compare the ratio",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows

    async def go() -> dict[str, Any]:
        async with bench_stack() as stack:
            return await bench(stack, rows)

    name = "import_job" if rows == 100_000 else f"import_job_{rows}"
    print(write_result(name, asyncio.run(go())))


if __name__ == "__main__":
    main()
