"""Bad input gets a 4xx with the error shape and the offending field; never a 500."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.settings import Settings
from tests.api.test_tickets_slice import new_ticket
from tests.conftest import Member, Org, login, make_department


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="module")
async def staff(client: httpx.AsyncClient, settings: Settings) -> Org:
    headers = await login(client, settings.admin_email, settings.admin_password.get_secret_value())
    admin_id = (await client.get("/api/v1/users/me", headers=headers)).json()["id"]
    return await make_department(client, Member(admin_id, settings.admin_email, headers), "bad")


@pytest.fixture(scope="module")
async def ticket(client: httpx.AsyncClient, staff: Org) -> dict[str, Any]:
    """A pending ticket of the department, left pending by every test here."""
    response = await client.post(
        "/api/v1/tickets",
        json=new_ticket(department_id=staff.department_id),
        headers=staff.manager.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def error_of(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    """The error body after checking status and shape."""
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, (response.status_code, response.text[:500])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    if response.status_code == 422:
        fields = [e["field"] for e in error["details"]["errors"]]
        assert fields
        assert all(f and isinstance(f, str) for f in fields)
    return dict(error)


def fields(error: dict[str, Any]) -> list[str]:
    return [e["field"] for e in error["details"]["errors"]]


TICKET_BODY_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "wrong type for title": ({"title": 123}, "body.title"),
    "wrong type for department": ({"department_id": "sales"}, "body.department_id"),
    "object where a string goes": ({"category": {"a": 1}}, "body.category"),
    "list where an object goes": ({"contact": ["x"]}, "body.contact"),
    "bad phone": ({"contact": {"phone": "call me maybe"}}, "body.contact.phone"),
    "bad email": ({"contact": {"email": "not-an-email"}}, "body.contact.email"),
    "unknown priority": ({"priority": "asap"}, "body.priority"),
    "unknown channel": ({"channel": "pigeon"}, "body.channel"),
    "negative id": ({"assignee_id": -1}, "body.assignee_id"),
    "customer id beyond bigint": ({"customer_id": 2**63}, "body.customer_id"),
    "title of 10k chars": ({"title": "x" * 10_000}, "body.title"),
    "blank title": ({"title": "   "}, "body.title"),
    "unknown extra field": ({"severity": "high"}, "body.severity"),
    "unknown department": ({"department_id": 999_999}, "body.department_id"),
    "unknown assignee": ({"assignee_id": 999_999}, "body.assignee_id"),
}


@pytest.mark.parametrize("case", TICKET_BODY_CASES)
async def test_bad_ticket_body_is_422_naming_the_field(
    client: httpx.AsyncClient, staff: Org, case: str
) -> None:
    overrides, field = TICKET_BODY_CASES[case]
    body = new_ticket(department_id=staff.department_id) | overrides
    response = await client.post("/api/v1/tickets", json=body, headers=staff.manager.headers)
    assert field in fields(error_of(response, 422))


@pytest.mark.parametrize("missing", ["title", "description", "category"])
async def test_missing_required_field_is_422_naming_it(
    client: httpx.AsyncClient, staff: Org, missing: str
) -> None:
    body = new_ticket(department_id=staff.department_id)
    del body[missing]
    response = await client.post("/api/v1/tickets", json=body, headers=staff.manager.headers)
    assert fields(error_of(response, 422)) == [f"body.{missing}"]


@pytest.mark.parametrize(
    "content",
    [b'{"title": "unterminated', b"not json at all", b"", b"[1, 2", b"\xff\xfe\x00garbage"],
)
async def test_malformed_json_is_422(client: httpx.AsyncClient, staff: Org, content: bytes) -> None:
    headers = {**staff.manager.headers, "Content-Type": "application/json"}
    response = await client.post("/api/v1/tickets", content=content, headers=headers)
    assert fields(error_of(response, 422))[0].startswith("body")


async def test_json_array_instead_of_object_is_422(client: httpx.AsyncClient, staff: Org) -> None:
    response = await client.post("/api/v1/tickets", json=[1, 2], headers=staff.manager.headers)
    assert fields(error_of(response, 422))[0].startswith("body")


async def test_one_megabyte_description_is_refused_not_crashed(
    client: httpx.AsyncClient, staff: Org
) -> None:
    body = new_ticket(department_id=staff.department_id, description="d" * 1_000_000)
    response = await client.post("/api/v1/tickets", json=body, headers=staff.manager.headers)
    error_of(response, (413, 422))


async def test_streamed_oversized_body_is_413(client: httpx.AsyncClient, staff: Org) -> None:
    payload = json.dumps(new_ticket(description="d" * 1_200_000)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 65_536):
            yield payload[start : start + 65_536]

    headers = {**staff.manager.headers, "Content-Type": "application/json"}
    response = await client.post("/api/v1/tickets", content=chunks(), headers=headers)
    assert error_of(response, 413)["code"] == "payload_too_large"


async def test_unknown_ticket_is_404(client: httpx.AsyncClient, staff: Org) -> None:
    for ref in ("999999999", "abc", "FB20990101999", "1" * 40, "%20"):
        response = await client.get(f"/api/v1/tickets/{ref}", headers=staff.manager.headers)
        assert error_of(response, 404)["code"] == "not_found"


async def test_unknown_policy_id_is_404_and_non_numeric_422(
    client: httpx.AsyncClient, staff: Org
) -> None:
    h = staff.admin.headers
    error_of(await client.get("/api/v1/sla-policies/999999999", headers=h), 404)
    bad = await client.get("/api/v1/sla-policies/abc", headers=h)
    assert fields(error_of(bad, 422)) == ["path.policy_id"]


HUGE = 2**40


async def test_ids_beyond_the_database_range_are_refused_not_crashed(
    client: httpx.AsyncClient, staff: Org, ticket: dict[str, Any]
) -> None:
    h = staff.admin.headers
    too_big = str(10**25)
    error_of(await client.get(f"/api/v1/sla-policies/{too_big}", headers=h), (404, 422))
    error_of(await client.get(f"/api/v1/sla-policies/{HUGE}", headers=h), (404, 422))
    listed = await client.get("/api/v1/tickets", params={"department_id": HUGE}, headers=h)
    assert listed.status_code in (200, 422), listed.text
    create = new_ticket(department_id=HUGE)
    error_of(await client.post("/api/v1/tickets", json=create, headers=h), 422)
    assign = {"assignee_id": HUGE}
    url = f"/api/v1/tickets/{ticket['id']}/assign"
    error_of(await client.post(url, json=assign, headers=h), 422)
    user = {
        "email": "huge@example.com",
        "name": "Huge",
        "password": "password-123",
        "role": "agent",
        "department_id": HUGE,
    }
    error_of(await client.post("/api/v1/users", json=user, headers=h), 422)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "x" * 201,
        cursor_of({"id": "12"}),
        cursor_of({"id": True}),
        cursor_of({"id": None}),
        cursor_of({"id": 2**70}),
        cursor_of({"id": -5}),
        cursor_of({"other": 1}),
        cursor_of([1]),
        cursor_of(7),
        "eyJpZCI6",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/departments", "/api/v1/users"])
async def test_bad_cursor_is_422_naming_it(
    client: httpx.AsyncClient, staff: Org, path: str, cursor: str
) -> None:
    response = await client.get(path, params={"cursor": cursor}, headers=staff.admin.headers)
    assert fields(error_of(response, 422)) == ["query.cursor"]


async def test_cursor_beyond_int4_ids_is_just_an_empty_page(
    client: httpx.AsyncClient, staff: Org
) -> None:
    cursor = cursor_of({"id": 2**40})
    response = await client.get(
        "/api/v1/departments", params={"cursor": cursor}, headers=staff.admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "1000", "-1", "ten", "201"])
async def test_limit_out_of_range_is_422(client: httpx.AsyncClient, staff: Org, limit: str) -> None:
    response = await client.get(
        "/api/v1/tickets", params={"limit": limit}, headers=staff.manager.headers
    )
    assert fields(error_of(response, 422)) == ["query.limit"]


@pytest.mark.parametrize(
    ("param", "value"),
    [("status", "done"), ("priority", "asap"), ("breached", "maybe"), ("department_id", "x")],
)
async def test_bad_list_filter_is_422(
    client: httpx.AsyncClient, staff: Org, param: str, value: str
) -> None:
    response = await client.get(
        "/api/v1/tickets", params={param: value}, headers=staff.manager.headers
    )
    assert fields(error_of(response, 422)) == [f"query.{param}"]


ACTION_CASES: dict[str, tuple[str, dict[str, Any], int, str | None]] = {
    "unknown status": ("status", {"status": "done"}, 422, "body.status"),
    "empty comment": ("comments", {"body": "", "public": True}, 422, "body.body"),
    "blank comment": ("comments", {"body": "   \n ", "public": True}, 422, "body.body"),
    "comment without body": ("comments", {"public": True}, 422, "body.body"),
    "non-boolean public flag": ("comments", {"body": "hi", "public": "often"}, 422, "body.public"),
    "priority without reason": ("priority", {"priority": "low"}, 422, "body.reason"),
    "unknown priority": ("priority", {"priority": "asap", "reason": "x"}, 422, "body.priority"),
    "assign with neither field": ("assign", {}, 422, "body"),
    "assign to unknown user": ("assign", {"assignee_id": 999_999}, 422, "body.assignee_id"),
    "assign to unknown department": (
        "assign",
        {"department_id": 999_999},
        422,
        "body.department_id",
    ),
    "collaborator from unknown department": (
        "collaborators",
        {"department_id": 999_999},
        422,
        "body.department_id",
    ),
    "unknown survey rating": ("survey", {"rating": "meh"}, 422, "body.rating"),
    "survey on a pending ticket": ("survey", {"rating": "satisfied"}, 409, None),
    "reopen a pending ticket": ("reopen", {"reason": "again"}, 409, None),
    "reopen without reason": ("reopen", {}, 422, "body.reason"),
    "close a pending ticket": ("status", {"status": "closed"}, 409, None),
    "extra field on an action": ("comments", {"body": "hi", "cc": "x"}, 422, "body.cc"),
}


@pytest.mark.parametrize("case", ACTION_CASES)
async def test_bad_action_is_refused_with_reason(
    client: httpx.AsyncClient, staff: Org, ticket: dict[str, Any], case: str
) -> None:
    action, body, status, field = ACTION_CASES[case]
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/{action}", json=body, headers=staff.manager.headers
    )
    error = error_of(response, status)
    if field is not None:
        assert field in fields(error)
    after = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=staff.manager.headers)
    assert after.json()["status"] == "pending"


UNKNOWN_FIELD_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "/api/v1/departments": ({"code": "typo", "name": "Typo", "manager": 1}, "body.manager"),
    "/api/v1/users": (
        {
            "email": "typo@example.com",
            "name": "Typo",
            "password": "password-123",
            "role": "agent",
            "departmentid": 1,
        },
        "body.departmentid",
    ),
    "/api/v1/api-keys": ({"name": "typo", "userid": 1}, "body.userid"),
    "/api/v1/calendars": (
        {"name": "typo", "timezone": "UTC", "working_hours": "24x7", "tz": "UTC"},
        "body.tz",
    ),
}


@pytest.mark.parametrize("path", UNKNOWN_FIELD_CASES)
async def test_unknown_field_in_admin_bodies_is_422(
    client: httpx.AsyncClient, staff: Org, path: str
) -> None:
    body, field = UNKNOWN_FIELD_CASES[path]
    response = await client.post(path, json=body, headers=staff.admin.headers)
    assert field in fields(error_of(response, 422))


async def test_action_on_unknown_ticket_is_404(client: httpx.AsyncClient, staff: Org) -> None:
    response = await client.post(
        "/api/v1/tickets/999999999/comments",
        json={"body": "hello", "public": False},
        headers=staff.manager.headers,
    )
    error_of(response, 404)


async def test_nul_characters_are_422_not_a_stuck_workflow(
    client: httpx.AsyncClient, staff: Org, ticket: dict[str, Any]
) -> None:
    h = staff.manager.headers
    body = new_ticket(department_id=staff.department_id, title="a\x00b")
    created = await client.post("/api/v1/tickets", json=body, headers=h)
    assert fields(error_of(created, 422)) == ["body.title"]
    nested = new_ticket(department_id=staff.department_id, contact={"name": "\x00"})
    created = await client.post("/api/v1/tickets", json=nested, headers=h)
    assert fields(error_of(created, 422)) == ["body.contact.name"]
    comment = await client.post(
        f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "x\x00"}, headers=h
    )
    assert fields(error_of(comment, 422)) == ["body.body"]
    department = await client.post(
        "/api/v1/departments", json={"code": "nul", "name": "a\x00"}, headers=staff.admin.headers
    )
    error_of(department, 422)
    search = await client.get("/api/v1/tickets", params={"q": "\x00"}, headers=h)
    assert search.status_code in (200, 422), search.text


async def test_public_feedback_with_nul_is_422(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.78", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as public:
        body = {"category": "product_quality", "description": "broken\x00"}
        response = await public.post("/api/v1/public/feedback", json=body)
    assert "body.description" in fields(error_of(response, 422))


async def test_non_ascii_digits_in_a_ticket_ref_are_404(
    client: httpx.AsyncClient, staff: Org
) -> None:
    for ref in ("\u00b2", "\u0661\u0662"):  # superscript two; Arabic-Indic one two
        response = await client.get(f"/api/v1/tickets/{ref}", headers=staff.manager.headers)
        error_of(response, 404)


async def test_unsupported_method_is_405_with_the_error_shape(
    client: httpx.AsyncClient, staff: Org
) -> None:
    response = await client.delete("/api/v1/departments", headers=staff.admin.headers)
    assert error_of(response, 405)["code"] == "method_not_allowed"


async def test_unknown_path_is_404_with_the_error_shape(client: httpx.AsyncClient) -> None:
    error_of(await client.get("/api/v1/no-such-thing"), 404)


async def test_form_login_with_missing_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "someone"})
    assert "body.password" in fields(error_of(response, 422))
