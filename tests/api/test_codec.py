"""Ticket payloads reach the Temporal server encrypted; the codec endpoint decrypts for ops."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.codec import ENCODING, KEY_ID
from core.crypto import new_key_spec
from core.settings import Settings
from tests.api.test_tickets_slice import new_ticket
from tests.conftest import TEST_ENCRYPTION_KEYS, Org

DECODE = "/api/v1/codec/decode"
ENCODE = "/api/v1/codec/encode"
UI_ORIGIN = "http://127.0.0.1:8233"


def payloads_in(message: Message) -> list[Payload]:
    """Every Payload nested anywhere in a protobuf message (maps and lists included)."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if isinstance(value, Message):
            items: list[Any] = [value]
        elif hasattr(value, "values"):  # map field
            items = list(value.values())
        else:  # repeated field
            items = list(value)
        for item in items:
            if isinstance(item, Message):
                found += payloads_in(item)
    return found


def wire(payloads: list[Payload]) -> dict[str, Any]:
    """The JSON the Temporal UI posts: protobuf JSON of Payloads."""
    return MessageToDict(Payloads(payloads=payloads))


def clear_text(body: dict[str, Any]) -> bytes:
    return b"\n".join(base64.b64decode(p.get("data", "")) for p in body["payloads"])


async def raw_history(settings: Settings, workflow_id: str) -> WorkflowHistory:
    """The history as the Temporal server stores it: a client without our codec."""
    plain = await Client.connect(settings.temporal_address)
    return await plain.get_workflow_handle(workflow_id).fetch_history()


async def open_ticket_with_personal_data(http: httpx.AsyncClient, org: Org) -> dict[str, str]:
    marker = uuid.uuid4().hex[:10]
    secrets = {
        "phone": f"139{uuid.uuid4().int % 10**8:08d}",
        "email": f"pii-{marker}@example.com",
        "description": f"Distinctive complaint {marker}: the blender smokes on setting three.",
    }
    body = new_ticket(
        department_id=org.department_id,
        description=secrets["description"],
        contact={"name": "Li Si", "phone": secrets["phone"], "email": secrets["email"]},
    )
    created = await http.post("/api/v1/tickets", json=body, headers=org.manager.headers)
    assert created.status_code == 201, created.text
    ticket = created.json()
    comment = {"body": f"Customer asks for a call on {secrets['phone']}", "public": False}
    commented = await http.post(
        f"/api/v1/tickets/{ticket['id']}/comments", json=comment, headers=org.manager.headers
    )
    assert commented.status_code == 200, commented.text
    return {**secrets, "workflow_id": ticket["workflow_id"]}


async def test_ticket_history_on_the_server_holds_no_personal_data_in_clear(
    http: httpx.AsyncClient, org: Org, settings: Settings
) -> None:
    ticket = await open_ticket_with_personal_data(http, org)
    history = await raw_history(settings, ticket["workflow_id"])
    stored = b"".join(event.SerializeToString() for event in history.events)
    as_json = history.to_json().encode()
    for field in ("phone", "email", "description"):
        needle = ticket[field].encode()
        assert needle not in stored, f"{field} in clear in the stored history"
        assert needle not in as_json, f"{field} in clear in the history JSON"

    payloads = [p for event in history.events for p in payloads_in(event)]
    encrypted = [p for p in payloads if p.metadata.get("encoding") == ENCODING]
    assert encrypted, "no encrypted payloads in the history"
    assert {p.metadata[KEY_ID] for p in encrypted} == {b"test-1"}

    decoded = await http.post(DECODE, json=wire(encrypted), headers=org.manager.headers)
    assert decoded.status_code == 200, decoded.text
    assert len(decoded.json()["payloads"]) == len(encrypted)
    readable = clear_text(decoded.json())
    for field in ("phone", "email", "description"):
        assert ticket[field].encode() in readable, f"{field} missing after decoding"


async def test_only_managers_and_admins_may_decode(
    http: httpx.AsyncClient, org: Org, settings: Settings
) -> None:
    ticket = await open_ticket_with_personal_data(http, org)
    history = await raw_history(settings, ticket["workflow_id"])
    body = wire([p for event in history.events for p in payloads_in(event)])

    assert (await http.post(DECODE, json=body, headers=org.admin.headers)).status_code == 200
    denied = await http.post(DECODE, json=body, headers=org.agent.headers)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    assert ticket["phone"] not in denied.text
    anonymous = await http.post(DECODE, json=body)
    assert anonymous.status_code == 401
    assert ticket["phone"] not in anonymous.text
    assert (await http.post(ENCODE, json=body, headers=org.agent.headers)).status_code == 403
    assert (await http.post(ENCODE, json=body)).status_code == 401


async def test_encode_then_decode_round_trips_and_bad_input_is_a_422(
    http: httpx.AsyncClient, org: Org
) -> None:
    original = wire([Payload(metadata={"encoding": b"json/plain"}, data=b'"13800001111"')])
    encoded = await http.post(ENCODE, json=original, headers=org.manager.headers)
    assert encoded.status_code == 200, encoded.text
    assert b"13800001111" not in clear_text(encoded.json())
    decoded = await http.post(DECODE, json=encoded.json(), headers=org.manager.headers)
    assert decoded.json() == original

    garbled = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "AAAA"}]}
    bad = await http.post(DECODE, json=garbled, headers=org.manager.headers)
    assert bad.status_code == 422
    not_base64 = {"payloads": [{"metadata": {}, "data": "%%%"}]}
    bad = await http.post(DECODE, json=not_base64, headers=org.manager.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["errors"][0]["field"] == "body.payloads.0.data"


@pytest.fixture(scope="module")
async def rotated_ui_app(
    settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment, worker: None
) -> AsyncIterator[FastAPI]:
    """An API whose keyring has a new current key (the test key kept) and the UI origin."""
    keys = f"{new_key_spec('rotated')},{TEST_ENCRYPTION_KEYS}"
    rotated = settings.model_copy(
        update={"encryption_keys": SecretStr(keys), "temporal_ui_origins": [UI_ORIGIN]}
    )
    application = create_app(rotated, engine=engine, temporal=temporal_env.client)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def ui_http(rotated_ui_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=rotated_ui_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client


async def test_payloads_of_the_previous_key_decode_after_rotation(
    http: httpx.AsyncClient, ui_http: httpx.AsyncClient, org: Org, settings: Settings
) -> None:
    ticket = await open_ticket_with_personal_data(http, org)
    history = await raw_history(settings, ticket["workflow_id"])
    body = wire([p for event in history.events for p in payloads_in(event)])
    decoded = await ui_http.post(DECODE, json=body, headers=org.manager.headers)
    assert decoded.status_code == 200, decoded.text
    assert ticket["email"].encode() in clear_text(decoded.json())

    encoded = await ui_http.post(ENCODE, json=body, headers=org.manager.headers)
    kids = {p["metadata"][KEY_ID] for p in encoded.json()["payloads"]}
    assert kids == {base64.b64encode(b"rotated").decode()}


async def test_the_temporal_ui_origin_passes_cors_preflight_and_others_do_not(
    http: httpx.AsyncClient, ui_http: httpx.AsyncClient, org: Org
) -> None:
    request_headers = "authorization,content-type,x-namespace"
    preflight = await ui_http.options(
        DECODE,
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": request_headers,
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-namespace"} <= set(allowed.split(", "))

    body = wire([Payload(data=b"x")])
    headers = {**org.manager.headers, "Origin": UI_ORIGIN, "X-Namespace": "default"}
    answered = await ui_http.post(ENCODE, json=body, headers=headers)
    assert answered.status_code == 200
    assert answered.headers["access-control-allow-origin"] == UI_ORIGIN

    stranger = await ui_http.options(
        DECODE,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in stranger.headers
    # Without configured UI origins (the default) no origin is allowed.
    closed = await http.options(
        DECODE, headers={"Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in closed.headers
