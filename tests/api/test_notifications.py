"""In-app inbox, preferences and signed outgoing webhooks over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from models import Notification
from tests.conftest import Member, Org
from tests.notify_support import HttpReceiver, eventually, http_receiver

NOTES = "/api/v1/users/me/notifications"
PREFS = "/api/v1/users/me/notification-preferences"
HOOK_SECRET = "hook-secret-0123456789"

Subscribe = Callable[[str, list[str]], Awaitable[dict[str, Any]]]


async def open_ticket(http: httpx.AsyncClient, org: Org, assignee: Member) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/tickets",
        json={
            "title": "App crashes on login",
            "description": "Since this morning the iOS app closes right after login.",
            "category": "product_quality",
            "priority": "normal",
            "channel": "staff",
            "department_id": org.department_id,
            "assignee_id": assignee.id,
        },
        headers=org.manager.headers,
    )
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def assign(http: httpx.AsyncClient, org: Org, ticket: dict[str, Any], to: Member) -> None:
    response = await http.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        json={"assignee_id": to.id},
        headers=org.manager.headers,
    )
    assert response.status_code == 200, response.text


async def set_status(http: httpx.AsyncClient, org: Org, ticket: dict[str, Any], to: str) -> None:
    response = await http.post(
        f"/api/v1/tickets/{ticket['id']}/status",
        json={"status": to, "note": "courier contacted"},
        headers=org.manager.headers,
    )
    assert response.status_code == 200, response.text


async def inbox(http: httpx.AsyncClient, who: Member, **params: Any) -> dict[str, Any]:
    response = await http.get(NOTES, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_inbox_shows_my_notices_only_and_marks_them_read(
    http: httpx.AsyncClient, org: Org
) -> None:
    ticket = await open_ticket(http, org, org.agent)
    await assign(http, org, ticket, org.other_agent)
    await assign(http, org, ticket, org.agent)
    await assign(http, org, ticket, org.other_agent)

    mine = await inbox(http, org.other_agent)
    assert [n["template"] for n in mine["items"]] == ["ticket_assigned", "ticket_assigned"]
    newest = mine["items"][0]
    assert newest["ticket_number"] == ticket["number"]
    assert newest["subject"] == f"[工单 {ticket['number']}] 已分派给您：App crashes on login"
    assert newest["read"] is False
    theirs = await inbox(http, org.agent)
    assert {n["id"] for n in theirs["items"]}.isdisjoint({n["id"] for n in mine["items"]})

    foreign = await http.post(f"{NOTES}/{newest['id']}/read", headers=org.agent.headers)
    assert foreign.status_code == 404
    read = await http.post(f"{NOTES}/{newest['id']}/read", headers=org.other_agent.headers)
    assert read.status_code == 200
    assert read.json()["read"] is True
    again = await http.post(f"{NOTES}/{newest['id']}/read", headers=org.other_agent.headers)
    assert again.json()["read_at"] == read.json()["read_at"]

    unread = await inbox(http, org.other_agent, unread="true")
    assert [n["id"] for n in unread["items"]] == [mine["items"][1]["id"]]
    first = await inbox(http, org.other_agent, limit=1)
    assert first["next_cursor"]
    rest = await inbox(http, org.other_agent, limit=1, cursor=first["next_cursor"])
    assert [n["id"] for n in first["items"] + rest["items"]] == [n["id"] for n in mine["items"]]
    assert rest["next_cursor"] is None


async def test_preferences_round_trip_and_choose_the_inbox_language(
    http: httpx.AsyncClient, org: Org
) -> None:
    defaults = await http.get(PREFS, headers=org.agent.headers)
    assert defaults.json()["channels"] == ["in_app", "email"]
    body = {
        "channels": ["in_app", "dingtalk"],
        "quiet_hours": {"start": "22:00", "end": "08:00"},
        "timezone": "Europe/Berlin",
        "locale": "en-GB",
        "dingtalk_webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=x",
        "dingtalk_secret": "SECxyz",
    }
    saved = await http.put(PREFS, json=body, headers=org.agent.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["quiet_hours"] == {"start": "22:00:00", "end": "08:00:00"}
    assert saved.json()["has_dingtalk_secret"] is True
    assert "dingtalk_secret" not in saved.json()
    kept = await http.put(
        PREFS,
        json={k: v for k, v in body.items() if k != "dingtalk_secret"},
        headers=org.agent.headers,
    )
    assert kept.json()["has_dingtalk_secret"] is True
    other = await http.get(PREFS, headers=org.other_agent.headers)
    assert other.json()["locale"] == "zh-CN"

    ticket = await open_ticket(http, org, org.other_agent)
    await assign(http, org, ticket, org.agent)
    [notice] = (await inbox(http, org.agent))["items"]
    assert notice["subject"] == f"[Ticket {ticket['number']}] Assigned to you: App crashes on login"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channels": ["sms"]}, "body.phone"),
        ({"channels": ["wecom"]}, "body.wecom_webhook_url"),
        ({"timezone": "Mars/Olympus"}, "body.timezone"),
        ({"phone": "call me maybe"}, "body.phone"),
        ({"channels": ["pigeon"]}, "body.channels.0"),
        ({"feishu_webhook_url": "ftp://x"}, "body.feishu_webhook_url"),
        ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "body.quiet_hours.start"),
    ],
)
async def test_preferences_name_the_field_to_fix(
    http: httpx.AsyncClient, admin: Member, change: dict[str, Any], field: str
) -> None:
    response = await http.put(PREFS, json={"channels": ["in_app"], **change}, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["errors"][0]["field"] == field


async def test_webhooks_are_admin_only_and_show_their_secret_once(
    http: httpx.AsyncClient, org: Org
) -> None:
    body = {"url": "https://hooks.example.test/in", "events": ["closed"]}
    assert (
        await http.post("/api/v1/webhooks", json=body, headers=org.manager.headers)
    ).status_code == 403
    created = await http.post("/api/v1/webhooks", json=body, headers=org.admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")
    listed = await http.get("/api/v1/webhooks", params={"limit": 200}, headers=org.admin.headers)
    [entry] = [w for w in listed.json()["items"] if w["id"] == created.json()["id"]]
    assert "secret" not in entry
    gone = await http.delete(f"/api/v1/webhooks/{entry['id']}", headers=org.admin.headers)
    assert gone.status_code == 204
    bad = await http.post(
        "/api/v1/webhooks",
        json={"url": "not a url", "events": ["Bad Event"]},
        headers=org.admin.headers,
    )
    assert bad.status_code == 422


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    async with http_receiver() as r:
        yield r


@pytest.fixture
async def subscribe(http: httpx.AsyncClient, admin: Member) -> AsyncIterator[Subscribe]:
    """Create subscriptions; every one is switched off when the test ends."""
    made: list[int] = []

    async def create(url: str, events: list[str]) -> dict[str, Any]:
        body = {"url": url, "events": events, "secret": HOOK_SECRET}
        response = await http.post("/api/v1/webhooks", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
        sub: dict[str, Any] = response.json()
        return sub

    yield create
    for sub_id in made:
        await http.delete(f"/api/v1/webhooks/{sub_id}", headers=admin.headers)


async def webhook_rows(engine: AsyncEngine, ticket_id: int) -> list[Notification]:
    async with async_sessionmaker(engine)() as session:
        found = await session.scalars(
            select(Notification).where(
                Notification.ticket_id == ticket_id, Notification.channel == "webhook"
            )
        )
        return list(found)


async def settled(engine: AsyncEngine, ticket_id: int, status: str) -> Notification:
    async def done() -> bool:
        found = await webhook_rows(engine, ticket_id)
        return len(found) == 1 and found[0].status == status

    await eventually(done, f"the webhook delivery to be {status}")
    [row] = await webhook_rows(engine, ticket_id)
    return row


async def test_webhook_failing_twice_then_succeeding_gets_one_accepted_delivery(
    http: httpx.AsyncClient,
    org: Org,
    receiver: HttpReceiver,
    subscribe: Subscribe,
    engine: AsyncEngine,
) -> None:
    receiver.script["/hook"] = [500, 500]
    await subscribe(receiver.url("/hook"), ["status_changed"])
    ticket = await open_ticket(http, org, org.agent)
    await set_status(http, org, ticket, "processing")
    row = await settled(engine, ticket["id"], "delivered")
    assert row.attempts == 3

    calls = receiver.at("/hook")
    assert len(calls) == 3  # two refused, one accepted
    assert len({c.body for c in calls}) == 1
    assert len({c.headers["idempotency-key"] for c in calls}) == 1
    accepted = calls[-1]
    stamp, mac = accepted.headers["x-closedloop-signature"].split(",")
    signed = stamp.removeprefix("t=").encode() + b"." + accepted.body
    expected = hmac.new(HOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert mac == f"v1={expected}"
    assert accepted.headers["x-closedloop-event"] == "status_changed"
    document = json.loads(accepted.body)
    assert document["event"] == "status_changed"
    assert document["ticket"]["number"] == ticket["number"]
    assert (document["data"]["from"], document["data"]["to"]) == ("pending", "processing")


async def test_webhook_rejected_with_400_fails_for_good_and_shows_in_the_timeline(
    http: httpx.AsyncClient,
    org: Org,
    receiver: HttpReceiver,
    subscribe: Subscribe,
    engine: AsyncEngine,
) -> None:
    receiver.script["/strict"] = [400]
    await subscribe(receiver.url("/strict"), ["status_changed"])
    ticket = await open_ticket(http, org, org.agent)
    await set_status(http, org, ticket, "processing")
    row = await settled(engine, ticket["id"], "failed")
    assert row.error == "webhook answered HTTP 400"
    assert len(receiver.at("/strict")) == 1

    events = await http.get(f"/api/v1/tickets/{ticket['id']}/events", headers=org.manager.headers)
    timeline = events.json()
    types = [e["type"] for e in timeline]
    failed = timeline[types.index("notification_failed")]
    assert types[types.index("notification_failed") - 1] == "status_changed"
    assert failed["seq"] == timeline[types.index("status_changed")]["seq"]
    assert failed["data"]["channel"] == "webhook"
    assert failed["data"]["error"] == "webhook answered HTTP 400"
