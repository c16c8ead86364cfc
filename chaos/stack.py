"""The whole stack as separate processes in a temp dir, each one killable and restartable."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from core import crypto, devstack
from workflows.search_attributes import cli_definitions

REPO = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "chaos-admin@example.com"
ADMIN_PASSWORD = "chaos-admin-password-123"
TASK_QUEUE = "closedloop-chaos"


class AppProcess:
    """`python -m cli <name>` in its own session, output appended to a log file."""

    def __init__(self, name: str, env: dict[str, str], log_file: Path) -> None:
        self.name, self.env, self.log_file = name, env, log_file
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "cli", self.name], cwd=REPO, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the process and its children."""
        if self.popen is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.popen.pid)
            procs = [root, *root.children(recursive=True)]
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
            psutil.wait_procs(procs, timeout=10)
        self.popen.wait()
        self.popen = None


class Stack:
    """Postgres, Temporal dev server, worker(s) and API(s) on free loopback ports under `root`.

    `workers` and `apis` start that many `closedloop worker` / `closedloop api` processes on
    the one task queue and database; `worker` and `api` name the first of each (the ones a
    fault kills), the others keep running. `env` adds or overrides settings of all of them;
    without `smtp_port` the email channel is off; `webhook_port` (a local sink) is allowlisted.
    """

    def __init__(
        self,
        root: Path,
        smtp_port: int | None,
        *,
        workers: int = 1,
        apis: int = 1,
        env: dict[str, str] | None = None,
        webhook_port: int | None = None,
    ) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.postgres = devstack.PostgresProcess(
            root / "postgres", devstack.free_port(), log_file=self.logs / "postgres.log"
        )
        self.temporal = devstack.TemporalProcess(
            root / "temporal.db",
            devstack.free_port(),
            None,
            cli_definitions(),
            log_file=self.logs / "temporal.log",
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CLOSEDLOOP_", "PG"))},
            "DATABASE_URL": self.postgres.url,
            "TEMPORAL_ADDRESS": self.temporal.address,
            "TEMPORAL_TASK_QUEUE": TASK_QUEUE,
            "CLOSEDLOOP_ENV": "development",
            "CLOSEDLOOP_SECRET_KEY": secrets.token_urlsafe(48),
            "CLOSEDLOOP_ADMIN_EMAIL": ADMIN_EMAIL,
            "CLOSEDLOOP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CLOSEDLOOP_SMTP_HOST": "127.0.0.1" if smtp_port else "",
            "CLOSEDLOOP_SMTP_PORT": str(smtp_port or 25),
            "CLOSEDLOOP_SMTP_TLS": "none",
            "CLOSEDLOOP_SMTP_FROM": "helpdesk@example.com",
            "CLOSEDLOOP_SMTP_TIMEOUT_SECONDS": "5",
            "CLOSEDLOOP_NOTIFY_HTTP_TIMEOUT_SECONDS": "5",
            "CLOSEDLOOP_UPDATE_TIMEOUT_SECONDS": "15",
            "CLOSEDLOOP_LOG_JSON": "true",
            "CLOSEDLOOP_LOG_LEVEL": "WARNING",
        }
        if webhook_port is not None:  # the local sink is a loopback address: allowlisted
            self.env["CLOSEDLOOP_OUTBOUND_ALLOWLIST"] = f'["127.0.0.1:{webhook_port}"]'
        if hasattr(crypto, "new_key_spec"):  # payload and PII encryption: one key for all
            self.env["CLOSEDLOOP_ENCRYPTION_KEYS"] = crypto.new_key_spec("chaos")
            self.env["CLOSEDLOOP_BLIND_INDEX_KEY"] = crypto.new_blind_index_key()
        self.env.update(env or {})
        self.workers = [
            AppProcess("worker", self.env, self.logs / f"worker{i}.log") for i in range(workers)
        ]
        self.api_ports = [devstack.free_port() for _ in range(apis)]
        self.apis = [
            AppProcess(
                "api", {**self.env, "CLOSEDLOOP_API_PORT": str(port)}, self.logs / f"api{i}.log"
            )
            for i, port in enumerate(self.api_ports)
        ]
        self.worker, self.api = self.workers[0], self.apis[0]
        self.api_port = self.api_ports[0]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def base_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.api_ports]

    @property
    def app_processes(self) -> list[AppProcess]:
        return [*self.workers, *self.apis]

    def start(self) -> None:
        """Start everything, apply migrations, wait until the API is ready."""
        self.postgres.start()
        self.temporal.start()
        subprocess.run(
            [sys.executable, "-m", "cli", "migrate"], cwd=REPO, env=self.env, check=True,
            capture_output=True,
        )  # fmt: skip
        for proc in self.app_processes:
            proc.start()
        self.wait_ready()

    def wait_ready(self, timeout: float = 120) -> None:
        """Bounded wait until every API's /readyz answers 200 (Postgres and Temporal reachable)."""
        deadline = time.monotonic() + timeout
        waiting = list(self.base_urls)
        while waiting and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{waiting[0]}/readyz", timeout=3).status_code == 200:
                    waiting.pop(0)
                    continue
            time.sleep(0.3)
        if waiting:
            raise RuntimeError(
                f"the API did not become ready in {timeout:.0f}s (logs: {self.logs})"
            )

    def kill(self, name: str) -> None:
        """SIGKILL one component: worker, api, temporal or postgres."""
        getattr(self, name).kill()

    def restart(self, name: str) -> None:
        """Start a killed component again (same data dir, same DB file, same port)."""
        getattr(self, name).start()

    def supervise(self) -> list[str]:
        """Restart worker/API processes that exited on their own (a supervisor would)."""
        restarted = []
        for proc in self.app_processes:
            if proc.popen is not None and not proc.running:
                proc.popen = None
                proc.start()
                restarted.append(proc.name)
        return restarted

    def stop(self) -> None:
        """Tear down with SIGKILL: the drill's data dir is thrown away afterwards."""
        for proc in self.app_processes:
            proc.kill()
        self.temporal.kill()
        self.postgres.kill()
