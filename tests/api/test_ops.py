"""Operations endpoints, request ids, HTTP metrics and structured logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from core.logging import configure_logging
from tests.conftest import Member


async def test_healthz_answers_without_a_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_postgres_and_temporal_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "temporal": "ok"}}


async def test_metrics_require_a_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_metrics_count_requests_by_route_template(
    http: httpx.AsyncClient, admin: Member
) -> None:
    missing = await http.get("/api/v1/tickets/987654321", headers=admin.headers)
    assert missing.status_code == 404
    response = await http.get("/metrics", headers=admin.headers)
    assert response.status_code == 200
    lines = [
        line
        for line in response.text.splitlines()
        if line.startswith("closedloop_http_requests_total{")
    ]
    routes = {m.group(1) for line in lines if (m := re.search(r'route="([^"]*)"', line))}
    assert "/api/v1/tickets/{ref}" in routes, sorted(routes)
    assert not any("987654321" in route for route in routes), sorted(routes)
    assert any('route="/api/v1/tickets/{ref}"' in line and 'status="404"' in line for line in lines)


async def test_request_id_is_echoed_when_given(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={"X-Request-ID": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"


async def test_request_id_is_generated_when_absent(http: httpx.AsyncClient) -> None:
    first = (await http.get("/healthz")).headers["x-request-id"]
    second = (await http.get("/healthz")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


async def test_error_responses_carry_the_request_id_too(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/users/me", headers={"X-Request-ID": "denied-1"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "denied-1"


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logging")
async def test_logs_are_json_lines_with_the_request_id(
    http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_logs=True)
    logging.getLogger("closedloop.test").warning("plain %s", "message")
    await http.get("/healthz", headers={"X-Request-ID": "log-line-7"})
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses on its own
    plain = next(r for r in records if r["logger"] == "closedloop.test")
    assert plain["level"] == "warning"
    assert plain["msg"] == "plain message"
    access = next(r for r in records if r.get("request_id") == "log-line-7")
    assert access["logger"] == "closedloop.access"
    assert access["path"] == "/healthz"
    assert access["status"] == 200
