"""Follow-up plans over HTTP: create, read, scope, act (409s), touches, upgrades, segments."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.client import ScheduleActionExecutionStartWorkflow
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.followups import FollowUpActivities
from core.settings import Settings
from models import ContactPush, Customer, Notification
from tests.conftest import Member, Org, make_department
from workflows.followup_types import SegmentRun, SegmentRunResult
from workflows.segments import SCHEDULE_ID, ensure_segment_schedule

PLANS = "/api/v1/follow-up-plans"
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 15.0) -> T:
    """The probe's first truthy answer; fails after `within` real seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (found := await probe()):
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)
    return found


async def new_customer(http: httpx.AsyncClient, who: Member, **fields: Any) -> dict[str, Any]:
    body = {"name": f"示例客户-{uuid.uuid4().hex[:8]}", "tier": "core", **fields}
    response = await http.post("/api/v1/customers", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def new_plan(
    http: httpx.AsyncClient, who: Member, customer_id: int, **fields: Any
) -> dict[str, Any]:
    response = await http.post(
        PLANS, json={"customer_id": customer_id, **fields}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def event_types(http: httpx.AsyncClient, who: Member, plan_id: int) -> list[str]:
    response = await http.get(f"{PLANS}/{plan_id}/events", headers=who.headers)
    assert response.status_code == 200, response.text
    return [e["type"] for e in response.json()]


async def test_create_starts_a_durable_plan_with_its_timeline(
    http: httpx.AsyncClient, org: Org
) -> None:
    customer = await new_customer(http, org.manager)
    plan = await new_plan(
        http,
        org.manager,
        customer["id"],
        owner_id=org.agent.id,
        cadence="p2w",
        priority="high",
        channels=["call", "sms", "call"],
    )
    assert plan["workflow_id"] == f"plan-{plan['id']}"
    assert (plan["status"], plan["cadence"], plan["effective_cadence"]) == ("active", "P2W", "P14D")
    assert (plan["owner_id"], plan["priority"], plan["channels"]) == (
        org.agent.id,
        "high",
        ["call", "sms"],
    )
    created = datetime.fromisoformat(plan["created_at"])
    assert datetime.fromisoformat(plan["next_due_at"]) == created + timedelta(days=14)
    fetched = await http.get(f"{PLANS}/{plan['id']}", headers=org.agent.headers)
    assert fetched.json() == plan
    assert await event_types(http, org.agent, plan["id"]) == ["created"]
    ruled = await new_plan(http, org.manager, customer["id"])
    assert (ruled["cadence"], ruled["effective_cadence"]) == (None, "P1M")


async def test_invalid_cadence_is_a_422_naming_the_field(http: httpx.AsyncClient, org: Org) -> None:
    customer = await new_customer(http, org.manager)
    for body in ({"cadence": "monthly"}, {"cadence": "PT1H"}, {"grace_period": "3 days"}):
        response = await http.post(
            PLANS, json={"customer_id": customer["id"], **body}, headers=org.manager.headers
        )
        assert response.status_code == 422, response.text
        field = next(iter(body))
        assert response.json()["error"]["details"]["errors"][0]["field"] == f"body.{field}"


async def test_same_idempotency_key_yields_one_plan(http: httpx.AsyncClient, org: Org) -> None:
    customer = await new_customer(http, org.manager)
    headers = {**org.manager.headers, "Idempotency-Key": f"plan-{uuid.uuid4().hex}"}
    body = {"customer_id": customer["id"], "cadence": "P1M"}
    first = await http.post(PLANS, json=body, headers=headers)
    again = await http.post(PLANS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = await http.post(PLANS, json={**body, "cadence": "P2M"}, headers=headers)
    assert other.status_code == 409


async def test_scoping_agent_own_manager_department_admin_all(
    http: httpx.AsyncClient, org: Org, admin: Member
) -> None:
    mine = await new_customer(http, org.agent)
    theirs = await new_customer(http, org.other_agent)
    plan = await new_plan(http, org.agent, mine["id"])
    # Someone else's customer is not there for an agent; nor is owning a plan for others.
    refused = await http.post(PLANS, json={"customer_id": theirs["id"]}, headers=org.agent.headers)
    assert refused.status_code == 404
    handover = await http.post(
        PLANS,
        json={"customer_id": mine["id"], "owner_id": org.other_agent.id},
        headers=org.agent.headers,
    )
    assert handover.status_code == 403
    url = f"{PLANS}/{plan['id']}"
    assert (await http.get(url, headers=org.other_agent.headers)).status_code == 404
    assert (await http.post(f"{url}/pause", headers=org.other_agent.headers)).status_code == 404
    other = await make_department(http, admin, "plans-elsewhere")
    assert (await http.get(url, headers=other.manager.headers)).status_code == 404
    assert (await http.get(f"{url}/events", headers=other.manager.headers)).status_code == 404
    for who in (org.agent, org.manager, admin):
        listed = await http.get(PLANS, params={"customer_id": mine["id"]}, headers=who.headers)
        assert [p["id"] for p in listed.json()["items"]] == [plan["id"]]
    for who in (org.other_agent, other.manager):
        listed = await http.get(PLANS, params={"customer_id": mine["id"]}, headers=who.headers)
        assert listed.json()["items"] == []


async def test_pause_resume_cancel_answer_409_when_not_allowed(
    http: httpx.AsyncClient, org: Org
) -> None:
    customer = await new_customer(http, org.manager)
    plan = await new_plan(http, org.manager, customer["id"])
    url, h = f"{PLANS}/{plan['id']}", org.manager.headers
    resume = await http.post(f"{url}/resume", headers=h)
    assert resume.status_code == 409
    assert resume.json()["error"]["message"] == "cannot resume the plan: it is active"
    paused = await http.post(f"{url}/pause", json={"reason": "customer on holiday"}, headers=h)
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert (await http.post(f"{url}/pause", headers=h)).status_code == 409
    resumed = await http.post(f"{url}/resume", headers=h)
    assert (resumed.status_code, resumed.json()["status"]) == (200, "active")
    cancelled = await http.post(f"{url}/cancel", json={"reason": "lost"}, headers=h)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    for action in ("cancel", "pause", "resume"):
        assert (await http.post(f"{url}/{action}", headers=h)).status_code == 409
    assert await event_types(http, org.manager, plan["id"]) == [
        "created",
        "paused",
        "resumed",
        "cancelled",
    ]
    listed = await http.get(
        PLANS, params={"customer_id": customer["id"], "status": "cancelled"}, headers=h
    )
    assert [p["id"] for p in listed.json()["items"]] == [plan["id"]]


async def test_logging_an_interaction_resets_the_plan_cadence(
    http: httpx.AsyncClient, org: Org
) -> None:
    customer = await new_customer(http, org.agent)
    plan = await new_plan(http, org.agent, customer["id"], cadence="P10D")
    at = datetime.now(UTC).replace(microsecond=0)
    logged = await http.post(
        f"/api/v1/customers/{customer['id']}/interactions",
        json={"kind": "call", "at": at.isoformat(), "summary": "Discussed renewal"},
        headers=org.agent.headers,
    )
    assert logged.status_code == 201, logged.text

    async def touched() -> dict[str, Any] | None:
        row = (await http.get(f"{PLANS}/{plan['id']}", headers=org.agent.headers)).json()
        return row if row["last_touch_at"] else None

    row = await eventually(touched)
    assert datetime.fromisoformat(row["last_touch_at"]) == at
    assert datetime.fromisoformat(row["next_due_at"]) == at + timedelta(days=10)
    assert "touch_logged" in await event_types(http, org.agent, plan["id"])


async def test_upgrade_reminder_reaches_tagged_plans_and_an_unreachable_push_is_skipped(
    http: httpx.AsyncClient, org: Org
) -> None:
    tag = f"ERP-{uuid.uuid4().hex[:6]}"
    customer = await new_customer(http, org.manager, tags=[tag])
    plan = await new_plan(http, org.manager, customer["id"], channels=["sms"])
    body = {"tag": tag, "product": "v5", "note": "new reporting module"}
    assert (
        await http.post(f"{PLANS}/upgrade-reminders", json=body, headers=org.agent.headers)
    ).status_code == 403
    sent = await http.post(f"{PLANS}/upgrade-reminders", json=body, headers=org.manager.headers)
    assert sent.json() == {"plans_signalled": 1}

    async def upgrade_logged() -> dict[str, Any] | None:
        found = await http.get(f"{PLANS}/{plan['id']}/events", headers=org.manager.headers)
        skipped = [e for e in found.json() if e["type"] == "push_skipped"]
        return skipped[0] if skipped else None

    # This deployment has no SMS gateway: the owner gets the task, the customer no text.
    skipped = await eventually(upgrade_logged)
    assert skipped["data"]["reason"] == "no_reachable_channel"
    assert "upgrade_task" in await event_types(http, org.manager, plan["id"])
    found = await http.get(f"{PLANS}/{plan['id']}/pushes", headers=org.manager.headers)
    assert found.json() == []


async def test_staff_record_an_opened_push_with_its_delivery_state(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    customer = await new_customer(http, org.manager)
    plan = await new_plan(http, org.manager, customer["id"], channels=["sms"])
    key = f"plan-{plan['id']}:upgrade:ERP:v5:sms"
    async with async_sessionmaker(engine).begin() as session:
        push = ContactPush(
            customer_id=customer["id"],
            plan_id=plan["id"],
            channel="sms",
            kind="product_upgrade",
            at=datetime.now(UTC),
            idempotency_key=key,
        )
        session.add(push)
        session.add(
            Notification(
                idempotency_key=f"push:{key}",
                recipient=f"customer:{customer['id']}",
                channel="sms",
                template="product_upgrade",
                payload={},
                status="failed",
                error="SMS gateway answered HTTP 422",
            )
        )
    listed = await http.get(f"{PLANS}/{plan['id']}/pushes", headers=org.manager.headers)
    [row] = listed.json()
    assert (row["channel"], row["opened_at"], row["delivery"], row["delivery_error"]) == (
        "sms",
        None,
        "failed",
        "SMS gateway answered HTTP 422",
    )
    opened = await http.post(
        f"{PLANS}/{plan['id']}/pushes/{row['id']}/opened", headers=org.manager.headers
    )
    assert opened.status_code == 200
    assert opened.json()["opened_at"] is not None
    missing = await http.post(
        f"{PLANS}/{plan['id']}/pushes/999999999/opened", headers=org.manager.headers
    )
    assert missing.status_code == 404


async def _backdate(engine: AsyncEngine, customer_id: int, days: int) -> None:
    sessions = async_sessionmaker(engine)
    async with sessions.begin() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=days), segment="potential")
        )


async def test_segment_activity_marks_silent_customers_dormant(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    silent = await new_customer(http, org.manager)
    fresh = await new_customer(http, org.manager, segment="dormant")
    await _backdate(engine, silent["id"], 200)
    activities = FollowUpActivities(async_sessionmaker(engine))
    result = await ActivityEnvironment().run(
        activities.recompute_segments,
        SegmentRun(as_of=datetime.now(UTC), customer_ids=[silent["id"], fresh["id"]]),
    )
    assert result == SegmentRunResult(customers=2, changed=2, plans_signalled=0)
    for customer, segment in ((silent, "dormant"), (fresh, "potential")):
        row = await http.get(f"/api/v1/customers/{customer['id']}", headers=org.manager.headers)
        assert row.json()["segment"] == segment


async def test_nightly_schedule_recomputes_segments_and_moves_plans(
    http: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
) -> None:
    client = temporal_env.client
    customer = await new_customer(http, org.manager, tier="potential")
    plan = await new_plan(http, org.manager, customer["id"])
    assert plan["effective_cadence"] == "P3M"
    await _backdate(engine, customer["id"], 200)
    assert await ensure_segment_schedule(client, settings.temporal_task_queue)
    schedule = client.get_schedule_handle(SCHEDULE_ID)
    try:
        assert not await ensure_segment_schedule(client, settings.temporal_task_queue)
        described = await schedule.describe()
        [calendar] = described.schedule.spec.calendars
        assert [(r.start, r.end) for r in calendar.hour] == [(2, 2)]
        assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
        await schedule.trigger()

        async def started() -> str | None:
            actions = (await schedule.describe()).info.recent_actions
            for action in actions:
                if isinstance(action.action, ScheduleActionExecutionStartWorkflow):
                    return action.action.workflow_id
            return None

        run = client.get_workflow_handle(await eventually(started))
        result = SegmentRunResult.model_validate(await asyncio.wait_for(run.result(), 30))
        assert result.changed >= 1
        assert result.plans_signalled >= 1
    finally:
        await schedule.delete()

    async def moved() -> dict[str, Any] | None:
        row = (await http.get(f"{PLANS}/{plan['id']}", headers=org.manager.headers)).json()
        return row if row["effective_cadence"] == "P6M" else None

    await eventually(moved)
    assert "cadence_changed" in await event_types(http, org.manager, plan["id"])
    fetched = await http.get(f"/api/v1/customers/{customer['id']}", headers=org.manager.headers)
    assert fetched.json()["segment"] == "dormant"
