"""A create whose workflow does not answer in time is a bounded 503; its retry finds one ticket."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from models import Ticket
from tests.api.test_tickets_slice import new_ticket
from tests.conftest import Org
from worker import build_worker


async def test_create_without_a_worker_is_503_then_the_same_key_returns_one_ticket(
    app: object,
    org: Org,
    settings: Settings,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
) -> None:
    # A task queue no worker polls yet: the workflow starts but cannot persist the ticket.
    stalled = settings.model_copy(
        update={
            "temporal_task_queue": f"stalled-{org.department_id}",
            "update_timeout_seconds": 1.0,
        }
    )
    stalled_app = create_app(stalled, engine=engine, temporal=temporal_env.client)
    body = new_ticket(department_id=org.department_id, title=f"stalled {org.department_id}")
    headers = {**org.manager.headers, "Idempotency-Key": f"stalled-{org.department_id}"}
    transport = httpx.ASGITransport(app=stalled_app)
    async with (
        stalled_app.router.lifespan_context(stalled_app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        first = await http.post("/api/v1/tickets", json=body, headers=headers)
        assert first.status_code == 503, first.text
        assert first.headers["Retry-After"] == "2"
        assert first.json()["error"]["code"] == "unavailable"

        async with build_worker(temporal_env.client, engine, stalled):
            again = await http.post("/api/v1/tickets", json=body, headers=headers)
            assert again.status_code == 201, again.text
            retried = await http.post("/api/v1/tickets", json=body, headers=headers)
            assert retried.json()["id"] == again.json()["id"]

    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.title == body["title"])
        )
    assert count == 1
