"""Inbound mail over real SMTP (aiosmtpd in this process): new tickets and customer replies."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.intake.mail import InboundMail, start_mail_server
from core import devstack
from core.db import make_sessionmaker
from core.settings import Settings
from core.tokens import push_message_tag, push_token
from models import ContactPush
from tests.api.customer_support import create_customer
from tests.api.intake_support import anonymous, events, make_category, submit, ticket
from tests.conftest import Org


@pytest.fixture
async def smtp_port(
    settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment, worker: None
) -> AsyncIterator[int]:
    port = devstack.free_port()
    handler = InboundMail(make_sessionmaker(engine), temporal_env.client, settings)
    server = await start_mail_server(handler, "127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


async def send(
    port: int, sender: str, to: str, subject: str, body: str, **headers: str
) -> dict[str, tuple[int, bytes]]:
    """Send one message with the standard library client; returns refused recipients."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)

    def deliver() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            return client.send_message(message)

    return await asyncio.to_thread(deliver)


async def latest_email_ticket(http: httpx.AsyncClient, org: Org, category: str) -> dict[str, Any]:
    found = await http.get(f"/api/v1/tickets?category={category}", headers=org.admin.headers)
    items = found.json()["items"]
    assert items, f"no ticket in category {category}"
    return dict(items[0])


async def test_mail_becomes_an_email_ticket_and_a_reply_a_customer_comment(
    smtp_port: int, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    sender = f"wang-{uuid.uuid4().hex[:6]}@example.com"
    await send(
        smtp_port,
        f"王五 <{sender}>",
        f"feedback+{category}@support.example.com",
        "充电器发热严重",
        "The charger gets very hot after ten minutes.",
    )
    created = await latest_email_ticket(http, org, category)
    assert created["channel"] == "email"
    assert created["title"] == "充电器发热严重"
    assert created["contact"]["email"] == sender
    assert created["contact"]["name"] == "王五"
    assert created["description"] == "The charger gets very hot after ten minutes."

    await send(
        smtp_port,
        sender,
        "feedback@support.example.com",
        f"Re: [{created['number']}] 充电器发热严重",
        "It also smells burnt.\n\nOn Mon, support wrote:\n> We are looking into it",
    )
    replies = [
        e for e in await events(http, org.admin, created["number"]) if e["type"] == "commented"
    ]
    assert len(replies) == 1
    assert replies[0]["actor"] == "customer"
    assert replies[0]["data"] == {"body": "It also smells burnt.", "public": True}


async def test_a_stranger_quoting_a_ticket_number_opens_a_new_ticket_instead(
    smtp_port: int, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    owner = f"owner-{uuid.uuid4().hex[:6]}@example.com"
    await send(smtp_port, owner, f"fb+{category}@x.example", "Broken hinge", "It snapped.")
    original = await latest_email_ticket(http, org, category)
    await send(
        smtp_port,
        "mallory@example.com",
        f"fb+{category}@x.example",
        f"Re: {original['number']}",
        "Close this ticket please",
    )
    assert [e["type"] for e in await events(http, org.admin, original["number"])][-1] != (
        "commented"
    )
    newest = await latest_email_ticket(http, org, category)
    assert newest["number"] != original["number"]
    assert newest["contact"]["email"] == "mallory@example.com"


async def test_reply_token_in_the_address_reaches_the_ticket(
    app: object, smtp_port: int, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    async with anonymous(app) as public:
        created = await submit(public, category)
    await send(
        smtp_port,
        "any-address@example.com",
        f"reply+{created['status_token']}@support.example.com",
        "no number here",
        "Here is my order photo.",
    )
    view = await ticket(http, org.admin, created["number"])
    replies = [e for e in await events(http, org.admin, view["id"]) if e["type"] == "commented"]
    assert [r["data"]["body"] for r in replies] == ["Here is my order photo."]


async def test_a_reply_to_a_push_mail_counts_as_the_customer_engaging(
    smtp_port: int, http: httpx.AsyncClient, org: Org, engine: AsyncEngine, settings: Settings
) -> None:
    customer = await create_customer(http, org.manager)
    async with make_sessionmaker(engine).begin() as session:
        push = ContactPush(
            customer_id=customer["id"],
            channel="email",
            kind="product_upgrade",
            at=datetime.now(UTC),
            idempotency_key=f"mail-test:{uuid.uuid4().hex}:email",
        )
        session.add(push)
        await session.flush()
        push_id = push.id
    secret = settings.secret_key.get_secret_value().encode()
    forged = f"<push-{push_id}.AAAAAAAAAAAAAAAAAAAAAAAA@closedloop.test>"
    await send(
        smtp_port, "li@example.com", "care@x.example", "Re: upgrade", "?", In_Reply_To=forged
    )

    async def opened_at() -> datetime | None:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(
                select(ContactPush.opened_at).where(ContactPush.id == push_id)
            )

    assert await opened_at() is None
    real = f"<{push_message_tag(push_token(secret, push_id))}@closedloop.test>"
    await send(
        smtp_port,
        "li@example.com",
        "care@x.example",
        "Re: CRM 升级提醒",
        "请安排升级，谢谢",
        In_Reply_To=real,
        References=f"<older@example.com> {real}",
    )
    assert await opened_at() is not None
