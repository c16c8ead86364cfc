"""`closedloop dev` as a user runs it: one command, survives crashes, stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from core import devstack

REPO = Path(__file__).resolve().parents[2]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "dev-admin-password-123"
READY_TIMEOUT, STOP_TIMEOUT = 120, 60


def alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


@dataclass
class DevRun:
    """One `python -m cli dev` process with its output in files."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def tree(self) -> list[psutil.Process]:
        """The dev process's descendants (the servers run in their own sessions)."""
        with contextlib.suppress(psutil.NoSuchProcess):
            return list(psutil.Process(self.proc.pid).children(recursive=True))
        return []

    def exit_code(self, timeout: float = STOP_TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def interrupt(self) -> int:
        """Ctrl-C: a terminal sends SIGINT to the foreground process, not to the servers."""
        self.proc.send_signal(signal.SIGINT)
        return self.exit_code()


@dataclass
class DevStack:
    """A data dir and free ports; every run started here is cleaned up afterwards."""

    data_dir: Path
    api_port: int = field(default_factory=devstack.free_port)
    postgres_port: int = field(default_factory=devstack.free_port)
    temporal_port: int = field(default_factory=devstack.free_port)
    ui_port: int = field(default_factory=devstack.free_port)
    smtp_port: int = field(default_factory=devstack.free_port)
    seen: list[psutil.Process] = field(default_factory=list)
    runs: list[DevRun] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        ours = ("CLOSEDLOOP_", "TEMPORAL_", "PG")
        env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        env.pop("DATABASE_URL", None)
        return env | {
            "PYTHONUNBUFFERED": "1",
            "CLOSEDLOOP_DATA_DIR": str(self.data_dir),
            "CLOSEDLOOP_API_PORT": str(self.api_port),
            "CLOSEDLOOP_DEV_POSTGRES_PORT": str(self.postgres_port),
            "CLOSEDLOOP_DEV_TEMPORAL_PORT": str(self.temporal_port),
            "CLOSEDLOOP_TEMPORAL_UI_PORT": str(self.ui_port),
            "CLOSEDLOOP_SMTP_INBOUND_PORT": str(self.smtp_port),
            "CLOSEDLOOP_ADMIN_EMAIL": ADMIN_EMAIL,
            "CLOSEDLOOP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }

    def start(self) -> DevRun:
        n = len(self.runs)
        out, err = self.data_dir.with_name(f"dev-{n}.out"), self.data_dir.with_name(f"dev-{n}.err")
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "dev"],
                cwd=REPO,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        self.runs.append(DevRun(proc, out, err))
        return self.runs[-1]

    async def wait_ready(self, run: DevRun) -> None:
        """Bounded wait for /readyz 200 and the banner; remember the servers for cleanup."""
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while time.monotonic() < deadline:
                if run.proc.poll() is not None:
                    pytest.fail(f"dev exited {run.proc.returncode}:\n{run.stdout()}{run.stderr()}")
                with contextlib.suppress(httpx.HTTPError):
                    ready = (await http.get("/readyz")).status_code == 200
                    if ready and "Press Ctrl-C to stop." in run.stdout():
                        self.seen += run.tree()
                        return
                await asyncio.sleep(0.25)
        pytest.fail(f"not ready in {READY_TIMEOUT}s:\n{run.stdout()}{run.stderr()}")

    def cleanup(self) -> None:
        for run in self.runs:
            if run.proc.poll() is None:
                self.seen += run.tree()
                run.proc.kill()
                run.proc.wait()
        for proc in self.seen:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(self.seen, timeout=10)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    dev = DevStack(tmp_path / "data")
    yield dev
    dev.cleanup()


async def login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await http.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def workflow_ids_for(client: Client, number: str) -> list[str]:
    """Visibility is eventually consistent: poll, bounded."""
    deadline = time.monotonic() + 30
    while True:
        ids = [wf.id async for wf in client.list_workflows(f"TicketNumber = '{number}'")]
        if ids or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.5)


async def test_dev_keeps_tickets_and_workflows_across_a_crash_and_stops_on_ctrl_c(
    stack: DevStack,
) -> None:
    first = stack.start()
    await stack.wait_ready(first)
    banner = first.stdout()
    assert f"{stack.base_url}/api/v1" in banner
    assert f"{stack.base_url}/docs" in banner
    assert f"http://127.0.0.1:{stack.ui_port}" in banner
    assert f"postgresql+psycopg://postgres@127.0.0.1:{stack.postgres_port}/closedloop" in banner
    assert f"{ADMIN_EMAIL} / {ADMIN_PASSWORD}" in banner
    assert str(stack.data_dir / "logs") in banner

    async with httpx.AsyncClient(base_url=f"{stack.base_url}/api/v1", timeout=30) as http:
        admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        dept = await http.post("/departments", json={"code": "cs", "name": "CS"}, headers=admin)
        assert dept.status_code == 201, dept.text
        agent_body = {
            "email": "agent@example.com",
            "name": "agent",
            "password": "agent-password-123",
            "role": "agent",
            "department_id": dept.json()["id"],
        }
        agent = await http.post("/users", json=agent_body, headers=admin)
        assert agent.status_code == 201, agent.text
        ticket_body = {
            "title": "Refund never arrived",
            "description": "Paid twice for order SO1, one refund is missing.",
            "category": "billing",
            "channel": "staff",
            "department_id": dept.json()["id"],
        }
        created = await http.post("/tickets", json=ticket_body, headers=admin)
        assert created.status_code == 201, created.text
        ticket = created.json()
        base = f"/tickets/{ticket['id']}"
        assigned = await http.post(
            f"{base}/assign", json={"assignee_id": agent.json()["id"]}, headers=admin
        )
        assert assigned.status_code == 200, assigned.text
        agent_headers = await login(http, "agent@example.com", "agent-password-123")
        comment = {"body": "Looking into it", "public": True}
        commented = await http.post(f"{base}/comments", json=comment, headers=agent_headers)
        assert commented.status_code == 200, commented.text
        events = (await http.get(f"{base}/events", headers=admin)).json()
        assert [e["type"] for e in events] == ["created", "assigned", "commented"]

    crashed = [psutil.Process(first.proc.pid), *first.tree()]
    for proc in crashed:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(crashed, timeout=10)
    assert not any(alive(p) for p in crashed)

    second = stack.start()
    await stack.wait_ready(second)
    async with httpx.AsyncClient(base_url=f"{stack.base_url}/api/v1", timeout=30) as http:
        admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        again = (await http.get(f"{base}", headers=admin)).json()
        assert again["number"] == ticket["number"]
        assert again["assignee_id"] == agent.json()["id"]
        assert again["sla"]["first_response"]["met_at"] is not None
        assert (await http.get(f"{base}/events", headers=admin)).json() == events

        client = await Client.connect(f"127.0.0.1:{stack.temporal_port}")
        handle = client.get_workflow_handle(ticket["workflow_id"])
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

        note = {"status": "processing", "note": "refund re-issued"}
        moved = await http.post(f"{base}/status", json=note, headers=agent_headers)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "processing"
        after = (await http.get(f"{base}/events", headers=admin)).json()
        assert after[: len(events)] == events
        assert [(e["seq"], e["type"]) for e in after[len(events) :]] == [
            (len(events) + 1, "status_changed")
        ]
        assert await workflow_ids_for(client, ticket["number"]) == [ticket["workflow_id"]]

    servers = second.tree()
    assert second.interrupt() == 0
    assert "stopping" in second.stdout()
    assert [p.name() for p in servers if alive(p)] == []
    assert sorted(p.name for p in (stack.data_dir / "run").glob("*.pid")) == []


def test_dev_refuses_a_busy_api_port_with_a_clear_message(stack: DevStack) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", stack.api_port))
        busy.listen()
        run = stack.start()
        code = run.exit_code(timeout=30)
    assert code != 0
    assert f"port {stack.api_port} (API) is already in use" in run.stderr()
    assert "Traceback" not in run.stdout() + run.stderr()
    assert not (stack.data_dir / "postgres").exists()  # failed before starting anything


async def test_dev_stops_servers_a_killed_dev_left_running_then_starts(stack: DevStack) -> None:
    first = stack.start()
    await stack.wait_ready(first)
    servers = psutil.Process(first.proc.pid).children()  # postgres, temporal, worker, api, mail
    recorded = sorted(p.stem for p in (stack.data_dir / "run").glob("*.pid"))
    assert recorded == ["api", "mail", "postgres", "temporal", "worker"]
    assert len(servers) == len(recorded)

    twin = stack.start()  # a second dev on the same data dir must not touch the running one
    assert twin.exit_code(timeout=30) == 2
    assert "already runs on" in twin.stderr()
    assert all(alive(p) for p in servers)

    first.proc.kill()  # the parent only: its servers live in their own sessions
    first.proc.wait()
    assert all(alive(p) for p in servers)

    second = stack.start()
    await stack.wait_ready(second)
    for name in recorded:
        assert f"stopped {name} (pid " in second.stdout()
    assert not any(alive(p) for p in servers)
    async with httpx.AsyncClient(base_url=f"{stack.base_url}/api/v1", timeout=30) as http:
        me = await http.get("/users/me", headers=await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        assert me.json()["email"] == ADMIN_EMAIL
    assert second.interrupt() == 0


def test_leftover_cleanup_spares_processes_that_do_not_name_the_data_dir(tmp_path: Path) -> None:
    data, run = tmp_path / "data", tmp_path / "data" / "run"
    sleep = [sys.executable, "-c", "import sys, time; time.sleep(60)"]
    stranger = subprocess.Popen(sleep)
    named = [*sleep, f"--db={data}/temporal.db"]
    ours = subprocess.Popen(named)
    for proc, argv in ((stranger, sleep), (ours, named)):
        # A freshly forked child shows the parent's command line until it has exec'd.
        deadline = time.monotonic() + 10
        while psutil.Process(proc.pid).cmdline() != argv and time.monotonic() < deadline:
            time.sleep(0.01)
    try:
        devstack.write_pid_file(run / "api.pid", stranger.pid, sleep)
        devstack.write_pid_file(run / "temporal.pid", ours.pid, named)
        stopped = devstack.stop_leftovers(run, data, ["api", "temporal"], timeout=5)
        assert stopped == [f"temporal (pid {ours.pid})"]
        assert ours.wait(timeout=10) != 0
        assert stranger.poll() is None
        assert list(run.glob("*.pid")) == []
    finally:
        for proc in (stranger, ours):
            proc.kill()
            proc.wait()
