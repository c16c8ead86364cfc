"""A ticket lifecycle logged at DEBUG never writes the contact phone, a password or a token."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest

from core.logging import configure_logging
from tests.conftest import Org

PHONE = "13987654321"
PASSWORD = "Lifecycle-secret-9"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every log record of the process, as the production JSON lines, into a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(level="DEBUG", json_logs=True)
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)


async def test_a_ticket_lifecycle_logs_no_phone_password_or_token(
    http: httpx.AsyncClient, org: Org, captured_logs: io.StringIO
) -> None:
    email = f"lifecycle-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "email": email,
        "name": "Lifecycle agent",
        "password": PASSWORD,
        "role": "manager",
        "department_id": org.department_id,
    }
    created = await http.post("/api/v1/users", json=body, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    login = await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200
    token = login.json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    ticket = await http.post(
        "/api/v1/tickets",
        json={
            "title": "Invoice is wrong",
            "description": "The invoice lists two items I never ordered.",
            "category": "product_quality",
            "priority": "normal",
            "channel": "staff",
            "department_id": org.department_id,
            "contact": {"name": "Wang Wu", "phone": PHONE, "email": "ww@example.com"},
        },
        headers=h,
    )
    assert ticket.status_code == 201, ticket.text
    base = f"/api/v1/tickets/{ticket.json()['id']}"
    steps = [
        ("assign", {"assignee_id": org.agent.id}),
        ("comments", {"body": f"Called the customer back on {PHONE[:3]}…", "public": True}),
        ("status", {"status": "processing", "note": "checking the invoice"}),
        ("status", {"status": "resolved"}),
        ("survey", {"rating": "satisfied", "comment": "fixed"}),
    ]
    for path, step in steps:
        response = await http.post(f"{base}/{path}", json=step, headers=h)
        assert response.status_code == 200, (path, response.text)
    assert (await http.get(base, headers=h)).status_code == 200
    # A failed login is logged too, and must not carry the password tried.
    await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD + "x"})

    logs = captured_logs.getvalue()
    assert f"{base}/survey" in logs  # the capture did see this lifecycle
    for secret in (PHONE, PASSWORD, token, token.split(".")[2]):
        assert secret not in logs
