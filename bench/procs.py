"""The bench stack as users run it: `closedloop api` and `closedloop worker` as processes.

Postgres and the Temporal dev server start as in `bench.common`; then N worker and M API
processes (the chaos drill's process stack) on one task queue and database, plus the fair
baseline's own worker process (`bench.fair`). The bench process itself is only a client:
HTTP to the APIs, gRPC to Temporal for the baselines, SQL for reading results back.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from pydantic import SecretStr

from bench.common import Stack
from chaos.stack import ADMIN_EMAIL, ADMIN_PASSWORD, REPO, TASK_QUEUE, AppProcess
from chaos.stack import Stack as Processes
from core.db import make_engine
from core.settings import Settings
from core.temporal import connect


class BaselineWorker(AppProcess):
    """`python -m bench.fair`: the fair baseline's worker, a process of its own."""

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bench.fair"], cwd=REPO, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip


def client_settings(procs: Processes) -> Settings:
    """Settings of the bench's own clients: the processes' servers and keys."""
    env = procs.env
    return Settings(
        env="development",
        database_url=env["DATABASE_URL"],
        temporal_address=env["TEMPORAL_ADDRESS"],
        temporal_task_queue=TASK_QUEUE,
        secret_key=SecretStr(env["CLOSEDLOOP_SECRET_KEY"]),
        encryption_keys=SecretStr(env.get("CLOSEDLOOP_ENCRYPTION_KEYS", "")),
        blind_index_key=SecretStr(env.get("CLOSEDLOOP_BLIND_INDEX_KEY", "")),
        admin_email=ADMIN_EMAIL,
        admin_password=SecretStr(ADMIN_PASSWORD),
        log_level="WARNING",
        update_timeout_seconds=60,  # direct opens wait out a busy worker instead of failing
    )


@contextlib.asynccontextmanager
async def process_stack(
    *, workers: int = 1, apis: int = 1, env: dict[str, str] | None = None, full: bool = False
) -> AsyncIterator[Stack]:
    """Start everything as processes in a temp dir; `stack.procs` is the process handle."""
    with tempfile.TemporaryDirectory(prefix="closedloop-bench-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)  # embedded Postgres may run as another system user
        tuned = {"CLOSEDLOOP_LOG_LEVEL": "WARNING", "CLOSEDLOOP_UPDATE_TIMEOUT_SECONDS": "30"}
        procs = Processes(root, None, workers=workers, apis=apis, env={**tuned, **(env or {})})
        baseline = BaselineWorker("fair", procs.env, procs.logs / "fair.log")
        try:
            procs.start()
            baseline.start()
            settings = client_settings(procs)
            client = await connect(settings)
            engine = make_engine(settings.database_url, pool_size=5)
            try:
                async with httpx.AsyncClient(base_url=procs.base_url) as http:
                    form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                    token = (await http.post("/api/v1/auth/token", data=form)).json()
                headers = {"Authorization": f"Bearer {token['access_token']}"}
                yield Stack(
                    settings,
                    engine,
                    client,
                    procs.base_url,
                    headers,
                    root / "temporal.db",
                    full,
                    base_urls=procs.base_urls,
                    procs=procs,
                    fair_worker=baseline,
                )
            finally:
                await engine.dispose()
        finally:
            baseline.kill()
            procs.stop()
