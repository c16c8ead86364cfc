"""Signed, timestamped, inspectable, redeliverable webhooks against a real local receiver."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from core import pii
from core.settings import Settings
from models import Notification, NotificationPreference, WebhookSubscription
from tests.api.test_notifications import open_ticket, set_status
from tests.conftest import Member, Org, repo_root
from tests.notify_support import HttpReceiver, eventually, http_receiver
from tests.workflow.test_outbound_guard import ConnectionCounter

SECRET = "hook-secret-0123456789"
Verify = Callable[..., bool]
Subscribe = Callable[..., Awaitable[dict[str, Any]]]


def documented_receiver_check() -> Verify:
    """The receiver code exactly as the README shows it, executed."""
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- receiver-check -->\n```python\n(.*?)```", readme, re.S)
    assert found, "the README's receiver check is missing"
    namespace: dict[str, Any] = {}
    exec(compile(found.group(1), str(Path("README.md")), "exec"), namespace)  # noqa: S102
    verify: Verify = namespace["verify_closedloop_signature"]
    return verify


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    async with http_receiver() as r:
        yield r


@pytest.fixture
async def subscribe(http: httpx.AsyncClient, admin: Member) -> AsyncIterator[Subscribe]:
    made: list[int] = []

    async def create(url: str, events: list[str]) -> dict[str, Any]:
        body = {"url": url, "events": events, "secret": SECRET}
        response = await http.post("/api/v1/webhooks", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
        sub: dict[str, Any] = response.json()
        return sub

    yield create
    for sub_id in made:
        await http.delete(f"/api/v1/webhooks/{sub_id}", headers=admin.headers)


async def deliveries(http: httpx.AsyncClient, who: Member, path: str) -> list[dict[str, Any]]:
    response = await http.get(path, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(
    http: httpx.AsyncClient, who: Member, path: str, count: int
) -> list[dict[str, Any]]:
    """Wait until `count` deliveries are listed and none is pending any more."""

    async def done() -> bool:
        items = await deliveries(http, who, path)
        return len(items) >= count and all(i["status"] != "pending" for i in items)

    await eventually(done, f"{count} settled deliveries at {path}")
    return await deliveries(http, who, path)


async def test_documented_receiver_check_accepts_a_delivery_and_rejects_its_replay(
    http: httpx.AsyncClient, org: Org, receiver: HttpReceiver, subscribe: Subscribe
) -> None:
    verify = documented_receiver_check()
    sub = await subscribe(receiver.url("/signed"), ["status_changed"])
    ticket = await open_ticket(http, org, org.agent)
    await set_status(http, org, ticket, "processing")
    await settled(http, org.admin, f"/api/v1/webhooks/{sub['id']}/deliveries", 1)
    [call] = receiver.at("/signed")
    header = call.headers["x-closedloop-signature"]
    sent_at = int(header.split(",")[0].removeprefix("t="))

    assert verify(header, call.body, SECRET, now=sent_at + 5)
    assert not verify(header, call.body, SECRET, now=sent_at + 301)  # a replay, too old
    assert not verify(header, call.body + b" ", SECRET, now=sent_at)
    assert not verify(header, call.body, "another-secret-0000", now=sent_at)
    forged = re.sub(r"t=\d+", f"t={sent_at + 301}", header)  # a fresh stamp on an old MAC
    assert not verify(forged, call.body, SECRET, now=sent_at + 301)


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    http: httpx.AsyncClient, org: Org, receiver: HttpReceiver, subscribe: Subscribe
) -> None:
    verify = documented_receiver_check()
    sub = await subscribe(receiver.url("/rotating"), ["status_changed"])
    path = f"/api/v1/webhooks/{sub['id']}"
    rotated = await http.post(
        f"{path}/rotate-secret", json={"overlap": "PT1H"}, headers=org.admin.headers
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert rotated.json()["previous_secret_until"]

    ticket = await open_ticket(http, org, org.agent)
    await set_status(http, org, ticket, "processing")
    await settled(http, org.admin, f"{path}/deliveries", 1)
    [call] = receiver.at("/rotating")
    header = call.headers["x-closedloop-signature"]
    assert len(re.findall(r"v1=", header)) == 2
    sent_at = int(header.split(",")[0].removeprefix("t="))
    assert verify(header, call.body, new_secret, now=sent_at)
    assert verify(header, call.body, SECRET, now=sent_at)

    ended = await http.post(
        f"{path}/rotate-secret",
        json={"secret": "third-secret-0123456789", "overlap": "PT0S"},
        headers=org.admin.headers,
    )
    assert ended.json()["previous_secret_until"] is None
    await set_status(http, org, ticket, "awaiting_customer")
    await settled(http, org.admin, f"{path}/deliveries", 2)
    last = receiver.at("/rotating")[-1].headers["x-closedloop-signature"]
    assert len(re.findall(r"v1=", last)) == 1
    too_long = await http.post(
        f"{path}/rotate-secret", json={"overlap": "P30D"}, headers=org.admin.headers
    )
    assert too_long.status_code == 422


async def test_failed_delivery_is_listed_and_redelivered_once_per_key(
    http: httpx.AsyncClient,
    org: Org,
    receiver: HttpReceiver,
    subscribe: Subscribe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    receiver.script["/strict"] = [400]
    sub = await subscribe(receiver.url("/strict"), ["status_changed"])
    path = f"/api/v1/webhooks/{sub['id']}/deliveries"
    ticket = await open_ticket(http, org, org.agent)
    await set_status(http, org, ticket, "processing")
    [failed] = await settled(http, org.admin, path, 1)
    assert failed["status"] == "failed"
    assert failed["event"] == "status_changed"
    assert failed["response_status"] == 400
    assert failed["error"] == "webhook answered HTTP 400"
    assert failed["attempts"] == 1
    assert failed["latency_ms"] is not None
    # One line for the failed attempt, no traceback (the SDK's own is debug-level).
    [line] = [r for r in caplog.records if r.name == "closedloop.notify"]
    assert "host=127.0.0.1 status=400 attempt=1" in line.getMessage()
    assert not line.exc_info
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]

    headers = {**org.admin.headers, "Idempotency-Key": "redo-1"}
    again = await http.post(f"{path}/{failed['id']}/redeliver", headers=headers)
    assert again.status_code == 202, again.text
    same = await http.post(f"{path}/{failed['id']}/redeliver", headers=headers)
    assert same.json()["id"] == again.json()["id"]
    items = await settled(http, org.admin, path, 2)
    assert [i["status"] for i in items] == ["delivered", "failed"]
    assert items[0]["response_status"] == 200
    first, second = receiver.at("/strict")
    assert first.body == second.body  # the same event document
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert second.headers["x-closedloop-delivery"] == str(items[0]["id"])
    assert (await http.get(path, headers=org.manager.headers)).status_code == 403
    missing = await http.post(f"{path}/999999999/redeliver", headers=org.admin.headers)
    assert missing.status_code == 404


async def test_a_stored_internal_url_is_refused_at_the_socket_without_a_connection(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    async with ConnectionCounter() as counter:
        # Stored before URLs were checked at the door: the socket guard still stops it.
        async with async_sessionmaker(engine).begin() as session:
            sub = WebhookSubscription(
                url=f"http://localhost:{counter.port}/internal",
                secret=pii.seal(SECRET),
                events=["status_changed"],
                active=True,
            )
            session.add(sub)
            await session.flush()
            sub_id = sub.id
        try:
            ticket = await open_ticket(http, org, org.agent)
            await set_status(http, org, ticket, "processing")
            path = f"/api/v1/webhooks/{sub_id}/deliveries"
            [refused] = await settled(http, org.admin, path, 1)
        finally:
            await http.delete(f"/api/v1/webhooks/{sub_id}", headers=org.admin.headers)
        assert counter.connections == 0
    assert refused["status"] == "refused"
    assert refused["attempts"] == 1
    assert "loopback" in refused["error"]
    assert refused["response_status"] is None


async def test_a_failing_webhook_is_parked_with_one_notice_and_a_test_send_resumes_it(
    http: httpx.AsyncClient, org: Org, receiver: HttpReceiver, subscribe: Subscribe
) -> None:
    receiver.script["/flaky"] = [400] * 100
    sub = await subscribe(receiver.url("/flaky"), ["status_changed"])
    hook = f"/api/v1/webhooks/{sub['id']}"
    for _ in range(3):  # six status changes: five failures park the webhook
        ticket = await open_ticket(http, org, org.agent)
        await set_status(http, org, ticket, "processing")
        await set_status(http, org, ticket, "awaiting_customer")
    items = await settled(http, org.admin, f"{hook}/deliveries", 6)
    statuses = sorted(i["status"] for i in items)
    assert statuses.count("failed") >= 5
    assert set(statuses) <= {"failed", "parked"}
    state = (await http.get(f"{hook}/state", headers=org.admin.headers)).json()
    assert state["parked"] is True

    notices = await parked_notices(http, org.admin, sub["id"])
    assert len(notices) == 1
    sent = len(receiver.at("/flaky"))
    ticket = await open_ticket(http, org, org.agent)
    await set_status(http, org, ticket, "processing")
    items = await settled(http, org.admin, f"{hook}/deliveries", 7)
    assert items[0]["status"] == "parked"
    assert len(receiver.at("/flaky")) == sent  # parked: nothing sent

    receiver.script["/flaky"] = []
    ping = await http.post(f"{hook}/test", headers=org.admin.headers)
    assert ping.status_code == 202, ping.text
    assert ping.json()["event"] == "ping"
    items = await settled(http, org.admin, f"{hook}/deliveries", 8)
    assert items[0]["status"] == "delivered"
    assert receiver.at("/flaky")[-1].headers["x-closedloop-event"] == "ping"
    state = (await http.get(f"{hook}/state", headers=org.admin.headers)).json()
    assert state == {**state, "parked": False, "consecutive_failures": 0}
    assert len(await parked_notices(http, org.admin, sub["id"])) == 1


async def parked_notices(http: httpx.AsyncClient, who: Member, sub_id: int) -> list[Any]:
    response = await http.get(
        "/api/v1/users/me/notifications", params={"limit": 200}, headers=who.headers
    )
    return [
        n
        for n in response.json()["items"]
        if n["template"] == "channel_parked" and n["payload"]["destination"] == f"webhook:{sub_id}"
    ]


async def test_my_robot_channel_deliveries_are_mine_and_a_test_send_reaches_it(
    http: httpx.AsyncClient, org: Org, receiver: HttpReceiver, engine: AsyncEngine
) -> None:
    receiver.bodies["/robot"] = {"errcode": 0}
    async with async_sessionmaker(engine).begin() as session:
        session.add(
            NotificationPreference(
                user_id=org.agent.id,
                channels=["in_app", "wecom"],
                timezone="Asia/Shanghai",
                locale="en",
                wecom_webhook_url=pii.seal(receiver.url("/robot?key=k")),
            )
        )
    ticket = await open_ticket(http, org, org.other_agent)
    await http.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        json={"assignee_id": org.agent.id},
        headers=org.manager.headers,
    )
    path = "/api/v1/users/me/notification-channels/wecom/deliveries"
    [delivered] = await settled(http, org.agent, path, 1)
    assert delivered["status"] == "delivered"
    assert delivered["event"] == "ticket_assigned"
    assert delivered["response_status"] == 200
    assert await deliveries(http, org.other_agent, path) == []
    foreign = await http.post(
        f"{path}/{delivered['id']}/redeliver", headers=org.other_agent.headers
    )
    assert foreign.status_code == 404

    ping = await http.post(
        "/api/v1/users/me/notification-channels/wecom/test", headers=org.agent.headers
    )
    assert ping.status_code == 202, ping.text
    items = await settled(http, org.agent, path, 2)
    assert items[0]["status"] == "delivered"
    assert "closedloop" in receiver.at("/robot")[-1].json()["markdown"]["content"]
    bad = await http.get(
        "/api/v1/users/me/notification-channels/pigeon/deliveries", headers=org.agent.headers
    )
    assert bad.status_code == 422
    async with async_sessionmaker(engine)() as session:
        rows = await session.scalars(
            select(Notification).where(Notification.user_id == org.agent.id)
        )
        assert all(r.channel in ("in_app", "wecom") for r in rows)


async def test_deliveries_run_on_their_own_task_queue(
    http: httpx.AsyncClient,
    org: Org,
    receiver: HttpReceiver,
    subscribe: Subscribe,
    settings: Settings,
    temporal_env: WorkflowEnvironment,
) -> None:
    sub = await subscribe(receiver.url("/queued"), ["status_changed"])
    ticket = await open_ticket(http, org, org.agent)
    await set_status(http, org, ticket, "processing")
    [delivery] = await settled(http, org.admin, f"/api/v1/webhooks/{sub['id']}/deliveries", 1)
    handle = temporal_env.client.get_workflow_handle(f"notify-{delivery['id']}")
    described = await handle.describe()
    assert described.task_queue == settings.delivery_task_queue
    assert settings.delivery_task_queue != settings.temporal_task_queue
    ticket_run = await temporal_env.client.get_workflow_handle(ticket["workflow_id"]).describe()
    assert ticket_run.task_queue == settings.temporal_task_queue
