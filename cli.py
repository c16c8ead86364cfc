"""`closedloop` command line: dev stack, production processes, migrations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import typer

from core.crypto import Keyring
from core.settings import Settings

app = typer.Typer(help="closedloop: feedback tickets and follow-ups on durable workflows.")


def _settings(**overrides: str) -> Settings:
    from core.settings import get_settings

    get_settings.cache_clear()
    os.environ.update(overrides)
    return get_settings()


def _bootstrap_admin(settings: Settings) -> None:
    from api.org.service import ensure_first_admin
    from core.db import make_engine, make_sessionmaker

    email, password = settings.admin_email, settings.admin_password.get_secret_value()
    if not (email and password):
        return

    async def run() -> None:
        engine = make_engine(settings.database_url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                if await ensure_first_admin(session, email, password):
                    typer.echo(f"created the first admin: {email}")
        finally:
            await engine.dispose()

    asyncio.run(run())


@app.command()
def migrate() -> None:
    """Apply database migrations, then create the first admin if no user exists."""
    from core.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    _bootstrap_admin(settings)
    typer.echo("database is up to date")


keys_app = typer.Typer(help="Encryption keys of personal data at rest.")
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(
    batch: int = typer.Option(500, min=1, help="Rows re-encrypted per transaction."),
) -> None:
    """Re-encrypt personal data and stored credentials under the current (first) key.

    Customer and ticket contacts, notification preferences (phone, robot URLs and secrets)
    and webhook signing secrets; legacy clear values are sealed on the way.

    Put the new key first in CLOSEDLOOP_ENCRYPTION_KEYS, keep the old ones after it, run
    this, then drop the old keys. Blind indexes are refilled on the way.
    """
    from core import pii
    from core.db import make_engine, make_sessionmaker

    settings = _settings()
    ring = settings.keyring()
    pii.use_keyring(ring)

    async def run() -> pii.RotationReport:
        engine = make_engine(settings.database_url)
        try:
            return await pii.rotate(make_sessionmaker(engine), batch=batch)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    typer.echo(
        f"key {ring.current_kid}: re-encrypted {report.contacts} customer contacts, "
        f"{report.tickets} ticket contacts, {report.preferences} notification preferences "
        f"and {report.webhooks} webhook secrets"
    )
    rewrapped = asyncio.run(_rewrap_attachment_keys(settings, ring, batch))
    typer.echo(f"re-wrapped {rewrapped} attachment file keys")


async def _rewrap_attachment_keys(settings: Settings, ring: Keyring, batch: int) -> int:
    """Attachments: only their data keys are re-wrapped; the stored files stay as they are."""
    from core.db import make_engine, make_sessionmaker
    from services.attachments.rotation import rewrap_keys

    engine = make_engine(settings.database_url)
    try:
        return await rewrap_keys(make_sessionmaker(engine), ring, batch)
    finally:
        await engine.dispose()


@app.command()
def worker() -> None:
    """Run the Temporal worker (workflows + activities) until SIGTERM/Ctrl-C."""
    from core.logging import configure_logging
    from worker import run_worker

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)

    async def main() -> None:
        task = asyncio.create_task(run_worker(settings))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


@app.command()
def mail() -> None:
    """Receive customer mail over SMTP on CLOSEDLOOP_SMTP_INBOUND_HOST:PORT (tickets, replies)."""
    from api.intake.mail import run_mail
    from core.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)

    async def main() -> None:
        task = asyncio.create_task(run_mail(settings))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


@app.command()
def api() -> None:
    """Serve the HTTP API (uvicorn) on CLOSEDLOOP_API_HOST:CLOSEDLOOP_API_PORT."""
    import uvicorn

    from core.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
    )


def _dev_secrets(data: Path, settings: Settings) -> dict[str, str]:
    """Secret and encryption keys and first admin for local use, generated once under data/."""
    from core.crypto import new_blind_index_key, new_key_spec

    path = data / "dev-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored.setdefault("secret_key", secrets.token_urlsafe(48))
    stored.setdefault("admin_email", "admin@example.com")
    stored.setdefault("admin_password", secrets.token_urlsafe(12))
    stored.setdefault("encryption_keys", new_key_spec("dev1"))
    stored.setdefault("blind_index_key", new_blind_index_key())
    path.write_text(json.dumps(stored, indent=2))
    path.chmod(0o600)
    return {
        "CLOSEDLOOP_SECRET_KEY": settings.secret_key.get_secret_value() or stored["secret_key"],
        "CLOSEDLOOP_ADMIN_EMAIL": settings.admin_email or stored["admin_email"],
        "CLOSEDLOOP_ADMIN_PASSWORD": settings.admin_password.get_secret_value()
        or stored["admin_password"],
        # Settings generate throwaway keys when unset; only what is in the environment counts.
        "CLOSEDLOOP_ENCRYPTION_KEYS": os.environ.get("CLOSEDLOOP_ENCRYPTION_KEYS")
        or stored["encryption_keys"],
        "CLOSEDLOOP_BLIND_INDEX_KEY": os.environ.get("CLOSEDLOOP_BLIND_INDEX_KEY")
        or stored["blind_index_key"],
    }


@app.command()
def dev() -> None:
    """Run the whole stack locally: Postgres, Temporal + UI, migrations, worker and API."""
    from core import devstack
    from workflows.search_attributes import cli_definitions

    os.environ.setdefault("CLOSEDLOOP_ENV", "development")
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop children in order on SIGTERM too
    settings = _settings()
    data = Path(settings.data_dir).absolute()
    run = data / "run"  # pid files: a later run stops what a killed one left behind
    data.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **_dev_secrets(data, settings), "CLOSEDLOOP_ENV": "development"}
    env["CLOSEDLOOP_DATA_DIR"] = str(data)  # lets stop_leftovers recognise our API and worker
    services: list[devstack.PostgresProcess | devstack.TemporalProcess] = []
    children: dict[str, subprocess.Popen[bytes]] = {}
    lock: IO[str] | None = None
    try:
        lock = devstack.lock_data_dir(run)
        for what in devstack.stop_leftovers(
            run, data, ("api", "worker", "mail", "temporal", "postgres")
        ):
            typer.echo(f"stopped {what} left running by an earlier closedloop dev")
        devstack.ensure_port_free(settings.api_port, "API", "CLOSEDLOOP_API_PORT")
        devstack.ensure_port_free(
            settings.smtp_inbound_port, "inbound SMTP", "CLOSEDLOOP_SMTP_INBOUND_PORT"
        )
        if not settings.database_url:
            pg = devstack.PostgresProcess(
                data / "postgres", settings.dev_postgres_port, pid_file=run / "postgres.pid"
            )
            services.append(pg)
            typer.echo(f"starting PostgreSQL on 127.0.0.1:{pg.port} …")
            pg.start()
            env["DATABASE_URL"] = pg.url
        if not settings.temporal_address:
            temporal = devstack.TemporalProcess(
                data / "temporal.db",
                settings.dev_temporal_port,
                settings.temporal_ui_port,
                cli_definitions(),
                namespace=settings.temporal_namespace,
                pid_file=run / "temporal.pid",
                # The UI decrypts payloads through the API (sign-in token: see README).
                ui_codec_endpoint=f"http://127.0.0.1:{settings.api_port}/api/v1/codec",
            )
            services.append(temporal)
            typer.echo(f"starting Temporal on {temporal.address} …")
            temporal.start()
            env["TEMPORAL_ADDRESS"] = temporal.address
            ui = settings.temporal_ui_port
            env.setdefault(
                "CLOSEDLOOP_TEMPORAL_UI_ORIGINS",
                json.dumps([f"http://127.0.0.1:{ui}", f"http://localhost:{ui}"]),
            )
        typer.echo("applying migrations …")
        subprocess.run([sys.executable, "-m", "cli", "migrate"], env=env, check=True)
        logs = data / "logs"
        logs.mkdir(exist_ok=True)
        for name in ("worker", "api", "mail"):
            cmd = [sys.executable, "-m", "cli", name]
            with (logs / f"{name}.log").open("ab") as out:
                children[name] = subprocess.Popen(
                    cmd, env=env, stdout=out, stderr=out, start_new_session=True
                )
            devstack.write_pid_file(run / f"{name}.pid", children[name].pid, cmd)
        url = f"http://127.0.0.1:{settings.api_port}/readyz"
        if _wait_until_ready(url, list(children.values())):
            _print_banner(settings, env, logs)
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        dead = [name for name, child in children.items() if child.poll() is not None]
        why = f"the {dead[0]} process exited unexpectedly" if dead else f"{url} never answered 200"
        typer.echo(f"error: {why}; see {logs}", err=True)
        raise typer.Exit(1)
    except (devstack.PortInUseError, devstack.DataDirInUseError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except devstack.DevStackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except subprocess.CalledProcessError as exc:
        typer.echo(f"error: migrations failed (exit status {exc.returncode})", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("\nstopping …")
    finally:
        # a second Ctrl-C must not abandon the children half-way; every wait below is bounded
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for name, child in reversed(children.items()):
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            (run / f"{name}.pid").unlink(missing_ok=True)
        for service in reversed(services):
            service.stop()
        if lock is not None:
            lock.close()


def _wait_until_ready(url: str, children: list[subprocess.Popen[bytes]]) -> bool:
    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and all(c.poll() is None for c in children):
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _print_banner(settings: Settings, env: dict[str, str], logs: Path) -> None:
    base = f"http://127.0.0.1:{settings.api_port}"
    typer.echo(
        "\n".join(
            [
                "",
                "closedloop is running",
                f"  API            {base}/api/v1   (OpenAPI docs: {base}/docs)",
                f"  Temporal UI    http://127.0.0.1:{settings.temporal_ui_port}"
                if not settings.temporal_address
                else f"  Temporal       {env['TEMPORAL_ADDRESS']}",
                f"  Postgres       {env['DATABASE_URL']}",
                f"  feedback form  {base}/embed/feedback",
                f"  inbound mail   smtp://{settings.smtp_inbound_host}:{settings.smtp_inbound_port}",
                f"  admin login    {env['CLOSEDLOOP_ADMIN_EMAIL']} / "
                f"{env['CLOSEDLOOP_ADMIN_PASSWORD']}",
                f"  logs           {logs}",
                "Press Ctrl-C to stop.",
            ]
        )
    )


if __name__ == "__main__":
    app()
