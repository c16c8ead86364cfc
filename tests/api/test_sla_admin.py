"""SLA policies and business calendars over HTTP: versions, scope, validation, breach filter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.settings import Settings
from tests.api.test_tickets_slice import new_ticket
from tests.conftest import Member, login

DEFAULT_POLICY_ID = 1


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="module")
async def root(client: httpx.AsyncClient, settings: Settings) -> Member:
    headers = await login(client, settings.admin_email, settings.admin_password.get_secret_value())
    me = (await client.get("/api/v1/users/me", headers=headers)).json()
    return Member(me["id"], settings.admin_email, headers)


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def policy_body(name: str, *, first: str = "PT2H", **overrides: Any) -> dict[str, Any]:
    """The body of API.md's example, with one first-response target for every priority."""
    body: dict[str, Any] = {
        "name": name,
        "targets": {
            "urgent": {"first_response": first, "resolution": "PT24H"},
            "normal": {"first_response": first, "resolution": "P3D"},
            "low": {"first_response": first, "resolution": "P7D"},
        },
        "warn_at": 0.8,
        "escalation": [
            {"at": "breach", "notify": "assignee", "channels": ["in_app"]},
            {"at": "PT30M", "notify": "department_manager", "channels": ["in_app", "email"]},
            {"at": "PT2H", "notify": "role:admin"},
        ],
        "tracking": {"urgent": "PT24H", "normal": "P3D", "low": "P7D"},
        "revisit": {"confirm_within": "P3D"},
    }
    body.update(overrides)
    return body


async def create_policy(client: httpx.AsyncClient, root: Member, body: dict[str, Any]) -> Any:
    response = await client.post("/api/v1/sla-policies", json=body, headers=root.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def open_ticket(
    client: httpx.AsyncClient, root: Member, category: str, department_id: int | None = None
) -> Any:
    body = new_ticket(category=category, department_id=department_id, contact=None)
    response = await client.post("/api/v1/tickets", json=body, headers=root.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_department(client: httpx.AsyncClient, root: Member) -> int:
    code = unique("sla")
    response = await client.post(
        "/api/v1/departments", json={"code": code, "name": code}, headers=root.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def all_items(client: httpx.AsyncClient, path: str, member: Member) -> list[Any]:
    items: list[Any] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = (await client.get(path, params=params, headers=member.headers)).json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        params["cursor"] = page["next_cursor"]


def first_response_target(ticket: dict[str, Any]) -> timedelta:
    due = datetime.fromisoformat(ticket["sla"]["first_response"]["due_at"])
    return due - datetime.fromisoformat(ticket["created_at"])


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    return str(error["details"]["errors"][0]["field"])


# --- policies -------------------------------------------------------------------------------


async def test_create_read_and_list_a_policy(client: httpx.AsyncClient, root: Member) -> None:
    name = unique("Express")
    created = await create_policy(client, root, policy_body(name, first="PT5S"))
    assert created["version"] == 1
    assert created["name"] == name
    assert created["calendar_id"] == 1
    assert created["warn_at"] == 0.8
    assert len(created["escalation"]) == 3
    one = await client.get(f"/api/v1/sla-policies/{created['id']}", headers=root.headers)
    assert one.status_code == 200
    assert one.json() == created
    listed = await all_items(client, "/api/v1/sla-policies", root)
    ids = [p["id"] for p in listed]
    assert created["id"] in ids
    assert DEFAULT_POLICY_ID in ids


async def test_new_version_binds_new_tickets_while_open_ones_keep_theirs(
    client: httpx.AsyncClient, root: Member
) -> None:
    category = unique("versioned")
    name = unique("Versioned")
    scope = {"categories": [category]}
    policy = await create_policy(client, root, policy_body(name, first="PT2H", scope=scope))
    before = await open_ticket(client, root, category)
    assert before["sla"]["policy_id"] == policy["id"]
    assert before["sla"]["policy_version"] == 1
    assert first_response_target(before) == timedelta(hours=2)

    updated = await client.put(
        f"/api/v1/sla-policies/{policy['id']}",
        json=policy_body(name, first="PT4H", scope=scope),
        headers=root.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    current = await client.get(f"/api/v1/sla-policies/{policy['id']}", headers=root.headers)
    assert current.json()["version"] == 2
    assert current.json()["targets"]["urgent"]["first_response"] == "PT4H"

    after = await open_ticket(client, root, category)
    assert after["sla"]["policy_version"] == 2
    assert first_response_target(after) == timedelta(hours=4)
    kept = (await client.get(f"/api/v1/tickets/{before['id']}", headers=root.headers)).json()
    assert kept["sla"]["policy_version"] == 1
    assert first_response_target(kept) == timedelta(hours=2)


async def test_most_specific_scope_wins(client: httpx.AsyncClient, root: Member) -> None:
    category = unique("scoped")
    dept, other_dept = await new_department(client, root), await new_department(client, root)
    by_category = await create_policy(
        client,
        root,
        policy_body(unique("Category"), first="PT3H", scope={"categories": [category]}),
    )
    by_both = await create_policy(
        client,
        root,
        policy_body(
            unique("Category+dept"),
            first="PT1H",
            scope={"categories": [category], "departments": [dept]},
        ),
    )
    in_dept = await open_ticket(client, root, category, dept)
    elsewhere = await open_ticket(client, root, category, other_dept)
    other_category = await open_ticket(client, root, unique("unscoped"), dept)
    assert in_dept["sla"]["policy_id"] == by_both["id"]
    assert first_response_target(in_dept) == timedelta(hours=1)
    assert elsewhere["sla"]["policy_id"] == by_category["id"]
    assert first_response_target(elsewhere) == timedelta(hours=3)
    assert other_category["sla"]["policy_id"] == DEFAULT_POLICY_ID


def without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


INVALID_POLICIES: dict[str, tuple[dict[str, Any], str]] = {
    "missing priority in targets": (without(policy_body("x"), "targets", "low"), "body.targets"),
    "missing tracking": (without(policy_body("x"), "tracking"), "body.tracking"),
    "warn_at above one": (policy_body("x", warn_at=1.5), "body.warn_at"),
    "warn_at zero": (policy_body("x", warn_at=0), "body.warn_at"),
    "negative duration": (
        policy_body("x", first="-PT5S"),
        "body.targets.urgent.first_response",
    ),
    "zero duration": (policy_body("x", first="PT0S"), "body.targets.urgent.first_response"),
    "not a duration": (policy_body("x", first="soon"), "body.targets.urgent.first_response"),
    "unknown priority": (
        policy_body("x", targets={"asap": {"first_response": "PT1H", "resolution": "PT2H"}}),
        "body.targets.asap.[key]",
    ),
    "unknown calendar": (policy_body("x", calendar_id=999_999), "body.calendar_id"),
    "negative tracking": (
        policy_body("x", tracking={"urgent": "-PT1H", "normal": "P3D", "low": "P7D"}),
        "body.tracking",
    ),
    "negative revisit window": (
        policy_body("x", revisit={"confirm_within": "-P1D"}),
        "body.revisit",
    ),
    "negative escalation offset": (
        policy_body("x", escalation=[{"at": "-PT5M", "notify": "assignee"}]),
        "body.escalation.0",
    ),
    "escalation to an unknown user": (
        policy_body("x", escalation=[{"at": "breach", "notify": "999999"}]),
        "body.escalation.0.notify",
    ),
    "escalation to an unknown rule": (
        policy_body("x", escalation=[{"at": "breach", "notify": "the boss"}]),
        "body.escalation.0.notify",
    ),
    "escalation over an oversized channel name": (
        policy_body("x", escalation=[{"notify": "assignee", "channels": ["c" * 40]}]),
        "body.escalation.0.channels",
    ),
    "unknown field": (policy_body("x", sla="fast"), "body.sla"),
}


@pytest.fixture(scope="module")
async def scratch_policy(client: httpx.AsyncClient, root: Member) -> int:
    """An unscoped, non-default policy (binds no ticket) to aim bad updates at."""
    return int((await create_policy(client, root, policy_body(unique("Scratch"))))["id"])


@pytest.mark.parametrize("case", INVALID_POLICIES)
async def test_invalid_policy_is_422_naming_the_field(
    client: httpx.AsyncClient, root: Member, scratch_policy: int, case: str
) -> None:
    body, field = INVALID_POLICIES[case]
    body = {**body, "name": unique("invalid")}
    response = await client.post("/api/v1/sla-policies", json=body, headers=root.headers)
    assert field_of(response).startswith(field), response.text
    url = f"/api/v1/sla-policies/{scratch_policy}"
    again = await client.put(url, json=body, headers=root.headers)
    assert field_of(again).startswith(field)
    assert (await client.get(url, headers=root.headers)).json()["version"] == 1


async def test_unknown_policy_is_404(client: httpx.AsyncClient, root: Member) -> None:
    response = await client.put(
        "/api/v1/sla-policies/999999", json=policy_body(unique("x")), headers=root.headers
    )
    assert response.status_code == 404


async def test_duplicate_policy_name_is_409(client: httpx.AsyncClient, root: Member) -> None:
    name = unique("Twice")
    await create_policy(client, root, policy_body(name))
    again = await client.post("/api/v1/sla-policies", json=policy_body(name), headers=root.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


# --- calendars ------------------------------------------------------------------------------

WEEKDAYS = {day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in ("mon", "tue", "wed")}
WEEKDAYS |= {"thu": [["09:00", "18:00"]], "fri": [["09:00", "17:00"]]}


async def test_cn_calendar_is_created_and_marks_years_beyond_the_data_provisional(
    client: httpx.AsyncClient, root: Member
) -> None:
    body = {
        "name": unique("CN office"),
        "timezone": "Asia/Shanghai",
        "working_hours": WEEKDAYS,
        "holidays": "CN",
        "extra_workdays": [],
    }
    response = await client.post("/api/v1/calendars", json=body, headers=root.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["working_hours"] == WEEKDAYS
    assert created["holidays"] == "CN"
    year = datetime.now(UTC).year
    # chinese-calendar publishes China's holidays up to 2026; later years are a best guess.
    assert created["provisional_years"] == [y for y in (year, year + 1) if y > 2026]
    listed = await all_items(client, "/api/v1/calendars", root)
    assert created in listed


async def test_calendar_with_explicit_dates_is_never_provisional(
    client: httpx.AsyncClient, root: Member
) -> None:
    body = {
        "name": unique("explicit"),
        "timezone": "Europe/Berlin",
        "working_hours": {"mon": [["08:00", "16:00"]]},
        "holidays": ["2027-01-01", "2027-12-25"],
        "extra_workdays": ["2027-01-02"],
    }
    response = await client.post("/api/v1/calendars", json=body, headers=root.headers)
    assert response.status_code == 201, response.text
    assert response.json()["provisional_years"] == []


def calendar(**overrides: Any) -> dict[str, Any]:
    body = {"name": "bad", "timezone": "Asia/Shanghai", "working_hours": WEEKDAYS}
    return body | overrides


INVALID_CALENDARS: dict[str, tuple[dict[str, Any], str]] = {
    "unknown timezone": (calendar(timezone="Mars/Olympus"), "body.timezone"),
    "hour 25": (calendar(working_hours={"mon": [["25:00", "26:00"]]}), "body.working_hours"),
    "end before start": (
        calendar(working_hours={"mon": [["18:00", "09:00"]]}),
        "body.working_hours",
    ),
    "unknown weekday": (
        calendar(working_hours={"funday": [["09:00", "18:00"]]}),
        "body.working_hours",
    ),
    "span of three": (
        calendar(working_hours={"mon": [["09:00", "12:00", "18:00"]]}),
        "body.working_hours",
    ),
    "no hours at all": (calendar(working_hours={"mon": []}), "body.working_hours"),
    "unknown holiday source": (calendar(holidays="Atlantis"), "body.holidays"),
    "bad holiday date": (calendar(holidays=["2027-13-01"]), "body.holidays"),
    "workday that is a holiday": (
        calendar(holidays=["2027-05-01"], extra_workdays=["2027-05-01"]),
        "body.extra_workdays",
    ),
    "missing timezone": ({"name": "bad", "working_hours": "24x7"}, "body.timezone"),
}


@pytest.mark.parametrize("case", INVALID_CALENDARS)
async def test_invalid_calendar_is_422_naming_the_field(
    client: httpx.AsyncClient, root: Member, case: str
) -> None:
    body, field = INVALID_CALENDARS[case]
    body = {**body, "name": unique("bad")}
    response = await client.post("/api/v1/calendars", json=body, headers=root.headers)
    assert field_of(response).startswith(field), response.text


# --- the breached filter --------------------------------------------------------------------


async def test_breached_filter_lists_only_breached_tickets(
    client: httpx.AsyncClient, root: Member
) -> None:
    fast, slow = unique("breach-fast"), unique("breach-slow")
    quick = {
        p: {"first_response": "PT1S", "resolution": "PT1S"} for p in ("urgent", "normal", "low")
    }
    await create_policy(
        client,
        root,
        policy_body(unique("One second"), targets=quick, scope={"categories": [fast]}),
    )
    breaching = await open_ticket(client, root, fast)
    calm = await open_ticket(client, root, slow)

    async def breached_ids(**filters: str) -> set[int]:
        params: dict[str, str | int] = {"breached": "true", "limit": 200, **filters}
        response = await client.get("/api/v1/tickets", params=params, headers=root.headers)
        assert response.status_code == 200
        items = response.json()["items"]
        # Only ours: tickets of the time-skipping workflow tests breach on a clock months ahead.
        assert all(
            t["sla"]["first_response"]["breached"] or t["sla"]["resolution"]["breached"]
            for t in items
            if t["category"] in (fast, slow)
        )
        return {t["id"] for t in items}

    # The dev server runs in real time: a one-second target breaches within a few seconds.
    for _ in range(100):
        if breaching["id"] in await breached_ids(category=fast):
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail("the one-second SLA never showed as breached within 20 s")
    newest_breached = await breached_ids()
    assert breaching["id"] in newest_breached
    assert calm["id"] not in newest_breached
    not_breached = await client.get(
        "/api/v1/tickets", params={"breached": "false", "category": slow}, headers=root.headers
    )
    assert [t["id"] for t in not_breached.json()["items"]] == [calm["id"]]
    events = await client.get(f"/api/v1/tickets/{breaching['id']}/events", headers=root.headers)
    assert "sla_breached" in {e["type"] for e in events.json()}
