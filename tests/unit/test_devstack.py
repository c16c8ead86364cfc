"""The dev stack starts real servers and keeps their data across crashes."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import psycopg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from core.devstack import (
    PortInUseError,
    PostgresProcess,
    TemporalProcess,
    ensure_port_free,
    free_port,
    temporal_cli,
    temporal_test_server,
)

TICKET_NUMBER = SearchAttributeKey.for_keyword("TicketNumber")


def test_ensure_port_free_raises_when_bound() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        message = f"port {port} (API) is already in use — stop the other process or set X_PORT"
        with pytest.raises(PortInUseError) as err:
            ensure_port_free(port, "API", "X_PORT")
        assert str(err.value) == message
    ensure_port_free(port, "API", "X_PORT")  # free again once closed


def test_binaries_are_found() -> None:
    assert temporal_cli().is_file()
    assert temporal_test_server().is_file()


def test_postgres_keeps_data_across_kill(tmp_path: Path) -> None:
    pg = PostgresProcess(tmp_path / "pg", free_port())
    try:
        pg.start()
        pg.start()  # idempotent
        dsn = pg.url.replace("+psycopg", "")
        with psycopg.connect(dsn) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (42)")
        pg.kill()
        assert not pg.running
        pg.start()  # stale postmaster.pid left by the kill
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
        copy_url = pg.create_database("copy", template="closedloop")
        assert copy_url.endswith(f":{pg.port}/copy")
        with psycopg.connect(copy_url.replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
    finally:
        pg.stop()
        pg.stop()  # safe twice
    assert not pg.running


async def test_temporal_keeps_workflows_across_kill(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    server = TemporalProcess(db, free_port(), None, {"TicketNumber": "Keyword"})
    try:
        await asyncio.to_thread(server.start)
        client = await Client.connect(server.address)
        await client.start_workflow(
            "NobodyPollsThis",
            id="wf-survivor",
            task_queue="nobody-polls",
            search_attributes=TypedSearchAttributes([SearchAttributePair(TICKET_NUMBER, "T-1")]),
        )
        await asyncio.to_thread(server.kill)
        await asyncio.to_thread(server.start)
        client = await Client.connect(server.address)
        desc = await client.get_workflow_handle("wf-survivor").describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING
        assert desc.typed_search_attributes.get(TICKET_NUMBER) == "T-1"
        await asyncio.to_thread(server.stop)
        changed = TemporalProcess(db, server.port, None, {"TicketNumber": "Int"})
        with pytest.raises(RuntimeError, match="delete that file"):
            await asyncio.to_thread(changed.start)
    finally:
        server.stop()


def test_temporal_boot_failure_shows_log_tail(tmp_path: Path) -> None:
    server = TemporalProcess(None, free_port(), None, {"X": "Nope"}, log_file=tmp_path / "t.log")
    with pytest.raises(RuntimeError, match='invalid search attribute value type "Nope"'):
        server.start()
    assert not server.running
