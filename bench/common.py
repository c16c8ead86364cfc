"""The bench stack: embedded Postgres, a Temporal dev server, an in-process worker and the API.

Everything runs on loopback in a temporary directory; the API is served by uvicorn on a free
port so every figure includes HTTP. Also: percentiles, RSS, and the JSON result writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from api.tickets.service import start_ticket
from core import devstack
from core.db import make_engine
from core.errors import Unavailable
from core.migrate import upgrade
from core.settings import Settings
from core.temporal import connect
from domain.sla import Priority
from domain.tickets import Channel
from worker import build_worker
from workflows.search_attributes import cli_definitions
from workflows.ticket_types import NewTicket

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"
SECRET = "bench-secret-key-with-at-least-32-characters!"


@dataclass
class Stack:
    """A running closedloop on loopback; `http` is an httpx client bound to the API."""

    settings: Settings
    engine: AsyncEngine
    client: Client
    base_url: str
    admin_headers: dict[str, str]
    temporal_db: Path
    full: bool
    transport: httpx.AsyncBaseTransport | None = None  # tests serve the app over ASGI
    # Process mode (bench.procs): every API's base URL and the process stack itself.
    base_urls: list[str] | None = None
    procs: Any = None
    fair_worker: Any = None

    def http(self, **kwargs: Any) -> httpx.AsyncClient:
        """A fresh HTTP client on the API (one per simulated user)."""
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=60, transport=self.transport, **kwargs
        )


def is_full() -> bool:
    """BENCH_FULL=1 selects the full sizes; the default is the CI-light ones."""
    return os.environ.get("BENCH_FULL", "") not in ("", "0")


@contextlib.asynccontextmanager
async def bench_stack(*, max_cached_workflows: int = 200) -> AsyncIterator[Stack]:
    """Start Postgres, Temporal, the worker and the API in a temp dir; tear all down after."""
    with tempfile.TemporaryDirectory(prefix="closedloop-bench-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)  # embedded Postgres may run as another system user
        postgres = devstack.PostgresProcess(root / "pg", devstack.free_port())
        temporal_db = root / "temporal.db"
        temporal = devstack.TemporalProcess(
            temporal_db, devstack.free_port(), None, cli_definitions()
        )
        await asyncio.to_thread(postgres.start)
        try:
            await asyncio.to_thread(temporal.start)
            await asyncio.to_thread(upgrade, postgres.url)
            settings = Settings(
                env="test",
                database_url=postgres.url,
                temporal_address=temporal.address,
                temporal_task_queue="closedloop-bench",
                secret_key=SECRET,
                admin_email=ADMIN_EMAIL,
                admin_password=ADMIN_PASSWORD,
                max_cached_workflows=max_cached_workflows,
                log_level="WARNING",
                attachment_dir=str(root / "attachments"),
            )
            async with _running(settings, temporal_db) as stack:
                yield stack
        finally:
            temporal.stop()
            postgres.stop()


@contextlib.asynccontextmanager
async def _running(settings: Settings, temporal_db: Path) -> AsyncIterator[Stack]:
    client = await connect(settings)
    engine = make_engine(settings.database_url, pool_size=20)
    app = create_app(settings, engine=engine, temporal=client)
    port = devstack.free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=120,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with build_worker(client, engine, settings):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.05)
            base_url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base_url) as http:
                form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                token = (await http.post("/api/v1/auth/token", data=form)).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            yield Stack(settings, engine, client, base_url, headers, temporal_db, is_full())
    finally:
        server.should_exit = True
        await serving
        await engine.dispose()


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p99/max of durations given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
    }


async def timed_concurrently(
    n: int, concurrency: int, op: Callable[[int], Awaitable[object]]
) -> tuple[float, list[float]]:
    """Run op(0..n-1) with `concurrency` workers; return wall seconds and each op's duration."""
    durations: list[float] = []
    next_index = iter(range(n))

    async def lane() -> None:
        for i in next_index:
            began = time.perf_counter()
            await op(i)
            durations.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - began, durations


def rss_mb() -> float:
    """This process's resident memory after a full collection, in MiB."""
    gc.collect()
    rss: int = psutil.Process().memory_info().rss
    return round(rss / 2**20, 1)


def file_mb(path: Path) -> float:
    """Size of a SQLite file with its -wal and -shm companions, in MiB."""
    companions = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return round(sum(p.stat().st_size for p in companions if p.exists()) / 2**20, 2)


def unique_label(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def load_average() -> list[float]:
    """The machine's 1/5/15-minute load averages (other work shares the cores)."""
    return [round(v, 2) for v in os.getloadavg()]


async def admin_user_id(stack: Stack) -> int:
    """The bench admin's user id (an assignee for directly opened tickets)."""
    async with stack.http(headers=stack.admin_headers) as http:
        me = await http.get("/api/v1/users/me")
        me.raise_for_status()
        return int(me.json()["id"])


def ticket_number(run: str, i: int) -> str:
    return f"FB{run.upper()}{i:06d}"


async def open_tickets_direct(
    stack: Stack,
    n: int,
    category: str,
    *,
    concurrency: int = 16,
    prefix: str | None = None,
    assignee_id: int | None = None,
    first: int = 0,
) -> float:
    """Open tickets first..first+n-1 by update-with-start (no HTTP); return the wall seconds.

    Each call returns once every ticket's row is written. With `assignee_id` the ticket is
    created assigned, so auto-dispatch (one activity and one workflow task) is skipped.
    """
    run = prefix or uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        new = NewTicket(
            number=ticket_number(run, first + i),
            title=f"bench ticket {first + i}",
            description="opened by the benchmark",
            category=category,
            priority=Priority.NORMAL,
            channel=Channel.STAFF,
            actor="system",
            assignee_id=assignee_id,
        )
        for attempt in range(3):  # update-with-start is idempotent on the workflow id
            try:
                await start_ticket(stack.client, stack.settings, new)
                return
            except Unavailable:
                if attempt == 2:
                    raise

    wall, _ = await timed_concurrently(n, concurrency, one)
    return wall


def write_result(name: str, figures: dict[str, Any]) -> str:
    """Write bench/results/<name>.json and return the text (callers print it)."""
    text = json.dumps(figures, indent=2)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(text + "\n")
    return text


def run_alone(name: str, bench: Callable[[Stack], Awaitable[dict[str, Any]]]) -> None:
    """`python -m bench.<name>`: own stack, one bench, print and write its JSON."""

    async def go() -> dict[str, Any]:
        async with bench_stack() as stack:
            return await bench(stack)

    signal.signal(signal.SIGTERM, _interrupt)  # a killed run still stops its servers
    print(write_result(name, asyncio.run(go())))  # noqa: T201


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
