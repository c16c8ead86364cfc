"""Notifications leave the building: real SMTP and HTTP receivers (robots, SMS gateway)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import shutil
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Replayer

from activities.notify import NotifyActivities
from activities.notify.email import EmailSender
from activities.notify.render import Message
from api.tickets.service import start_ticket
from core.devstack import free_port
from core.settings import Settings
from core.tokens import ticket_for_token
from domain.sla import Priority
from domain.tickets import Channel, TicketStatus
from models import Notification, NotificationPreference, Ticket, User
from tests.conftest import TEST_DATA_CONVERTER
from tests.notify_support import (
    RECEIVER_PORT,
    HttpReceiver,
    Mailbox,
    SmtpServer,
    eventually,
    http_receiver,
    text_of,
)
from tests.workflow.conftest import Desk, Staff, Tracked, start_time_skipping_env
from worker import build_worker
from workflows.notification import DeliverNotification, NotificationDelivery
from workflows.ticket_types import AssignInput, Contact, NewTicket

TASK_QUEUE = "closedloop-notify"
# The SMS vendor is played by the local receiver on the allowlisted port.
SMS_PATH = "/v1/messages"
SMS_GATEWAY = f"http://127.0.0.1:{RECEIVER_PORT}{SMS_PATH}"
SMS_TOKEN = "sms-token-for-tests"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def notify_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "temporal_task_queue": TASK_QUEUE,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_tls": "none",
            "smtp_from": "helpdesk@closedloop.test",
            "sms_gateway_url": SMS_GATEWAY,
            "sms_gateway_token": SecretStr(SMS_TOKEN),
            "public_base_url": "https://help.closedloop.test",
        }
    )


@pytest.fixture(scope="module")
async def nd(engine: AsyncEngine, notify_settings: Settings) -> AsyncIterator[Desk]:
    """A worker with email and SMS configured, on a time-skipping server of its own.

    Deliveries left retrying against receivers that are gone keep activities in flight, which
    stops a shared server's clock from skipping: other modules must not inherit them.
    """
    env = await start_time_skipping_env()
    try:
        async with build_worker(env.client, engine, notify_settings):
            yield Desk(env, engine, notify_settings)
    finally:
        await env.shutdown()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    async with http_receiver() as r:
        yield r


async def prefer(desk: Desk, user_id: int, **values: Any) -> None:
    values.setdefault("channels", ["in_app", "email"])
    values.setdefault("timezone", "Asia/Shanghai")
    values.setdefault("locale", "zh-CN")
    async with desk.sessions.begin() as session:
        session.add(NotificationPreference(user_id=user_id, **values))


async def email_of(desk: Desk, user_id: int) -> str:
    async with desk.sessions() as session:
        address = await session.scalar(select(User.email).where(User.id == user_id))
    assert address is not None
    return address


async def rows(desk: Desk, ticket_id: int, template: str, channel: str) -> list[Notification]:
    async with desk.sessions() as session:
        found = await session.scalars(
            select(Notification)
            .where(
                Notification.ticket_id == ticket_id,
                Notification.template == template,
                Notification.channel == channel,
            )
            .order_by(Notification.id)
        )
        return list(found)


async def settled_rows(
    desk: Desk, ticket_id: int, template: str, channel: str, status: str = "delivered"
) -> list[Notification]:
    """Wait until every row of this template and channel reached `status`."""

    async def done() -> bool:
        found = await rows(desk, ticket_id, template, channel)
        return bool(found) and all(r.status == status for r in found)

    await eventually(done, f"{template}/{channel} rows to be {status}")
    return await rows(desk, ticket_id, template, channel)


async def held_by_admin(desk: Desk, staff: Staff, priority: Priority = Priority.NORMAL) -> Tracked:
    """A ticket the admin holds, so handing it to someone else is an assignment notice."""
    return await desk.open(priority, department_id=staff.department_id, assignee_id=staff.admin_id)


async def assign(t: Tracked, user_id: int) -> None:
    await t.update("assign", AssignInput(actor="user:1", assignee_id=user_id))


async def open_for_customer(desk: Desk, staff: Staff, contact: Contact) -> Tracked:
    """A ticket with customer contact details, created like the API does."""
    number = "FBN" + uuid.uuid4().hex[:10].upper()
    new = NewTicket(
        number=number,
        title="Invoice amount is wrong",
        description="The invoice shows twice the order total.",
        category=f"cat-{number.lower()}",
        priority=Priority.NORMAL,
        channel=Channel.WEB_FORM,
        department_id=staff.department_id,
        assignee_id=staff.agent_id,
        contact=contact,
        actor="customer",
    )
    result = await start_ticket(desk.client, desk.settings, new)
    async with desk.sessions() as session:
        created_at = await session.scalar(
            select(Ticket.created_at).where(Ticket.id == result.ticket_id)
        )
    assert created_at is not None
    t = Tracked(desk, desk.client.get_workflow_handle(f"ticket-{number}"), result, created_at)
    await t.settle()
    return t


async def test_assignment_mail_reaches_each_assignee_in_their_language(
    nd: Desk, smtp: SmtpServer
) -> None:
    staff = await nd.staff()
    await prefer(nd, staff.agent_id, locale="zh-CN")
    await prefer(nd, staff.manager_id, locale="en-US")
    t = await nd.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.admin_id
    )
    await assign(t, staff.agent_id)
    await assign(t, staff.manager_id)
    await settled_rows(nd, t.id, "ticket_assigned", "email")

    [zh] = smtp.mailbox.to(await email_of(nd, staff.agent_id))
    assert zh["Subject"] == f"[工单 {t.number}] 已分派给您：Parcel never arrived"
    body = text_of(zh)
    assert "已分派给您处理" in body
    assert "优先级：普通" in body
    assert f"https://help.closedloop.test/api/v1/tickets/{t.number}" in body
    [en] = smtp.mailbox.to(await email_of(nd, staff.manager_id))
    assert en["Subject"] == f"[Ticket {t.number}] Assigned to you: Parcel never arrived"
    assert "Priority: Normal" in text_of(en)
    assert en["From"] == "helpdesk@closedloop.test"
    # The inbox copy is written alongside.
    assert len(await rows(nd, t.id, "ticket_assigned", "in_app")) == 2


async def test_deferred_mail_is_retried_and_arrives_once(nd: Desk, smtp: SmtpServer) -> None:
    staff = await nd.staff()
    address = await email_of(nd, staff.agent_id)
    smtp.mailbox.defer[address] = 1  # the first attempt gets "451 try again later"
    t = await nd.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.admin_id
    )
    await assign(t, staff.agent_id)
    [row] = await settled_rows(nd, t.id, "ticket_assigned", "email")
    assert row.attempts == 2
    assert len(smtp.mailbox.to(address)) == 1


async def test_running_the_delivery_activity_again_sends_nothing_more(
    nd: Desk, smtp: SmtpServer, notify_settings: Settings
) -> None:
    staff = await nd.staff()
    t = await nd.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.admin_id
    )
    await assign(t, staff.agent_id)
    [row] = await settled_rows(nd, t.id, "ticket_assigned", "email")
    activities = NotifyActivities(nd.sessions, notify_settings)
    again = await ActivityEnvironment().run(
        activities.deliver_notification, DeliverNotification(notification_id=row.id)
    )
    assert again.status == "skipped"
    assert len(smtp.mailbox.to(await email_of(nd, staff.agent_id))) == 1


async def test_customer_gets_status_mail_with_a_working_status_link(
    nd: Desk, smtp: SmtpServer
) -> None:
    staff = await nd.staff()
    address = f"customer-{uuid.uuid4().hex[:8]}@example.com"
    t = await open_for_customer(nd, staff, Contact(name="王芳", email=address))
    await t.status(TicketStatus.PROCESSING, "looking into the invoice")
    [row] = await settled_rows(nd, t.id, "status_changed", "email")
    assert row.recipient == "customer"
    assert row.user_id is None

    [mail] = smtp.mailbox.to(address)
    assert mail["Subject"] == f"您的反馈 {t.number} 状态更新：处理中"
    body = text_of(mail)
    assert "looking into the invoice" not in body  # staff notes stay internal
    links = re.findall(r"https://help\.closedloop\.test/embed/feedback#token=(\S+)", body)
    assert len(links) == 1
    token = links[0]
    async with nd.sessions() as session:
        ticket = await ticket_for_token(session, token)
    assert ticket is not None
    assert ticket.number == t.number

    await t.status(TicketStatus.RESOLVED, "credit note issued")
    await settled_rows(nd, t.id, "revisit_requested", "email")
    assert [m["Subject"] for m in smtp.mailbox.to(address)][1] == (
        f"您的反馈 {t.number} 已解决，请评价"
    )


async def test_customer_with_only_a_phone_gets_an_sms_through_the_gateway(
    nd: Desk, receiver: HttpReceiver
) -> None:
    staff = await nd.staff()
    receiver.script[SMS_PATH] = [503]
    t = await open_for_customer(nd, staff, Contact(name="Li", phone="138 1234 5678"))
    await t.status(TicketStatus.PROCESSING, "checking the order")
    [row] = await settled_rows(nd, t.id, "status_changed", "sms")
    assert row.attempts == 2
    first, second = receiver.at(SMS_PATH)
    assert second.headers["authorization"] == f"Bearer {SMS_TOKEN}"
    assert second.headers["idempotency-key"] == first.headers["idempotency-key"]
    sent = second.json()
    assert sent["to"] == "13812345678"
    assert sent["text"].startswith(f"您的反馈 {t.number} 状态更新为「处理中」")
    assert "https://help.closedloop.test/embed/feedback#token=" in sent["text"]


async def test_sms_gateway_rejection_is_permanent(nd: Desk, receiver: HttpReceiver) -> None:
    staff = await nd.staff()
    receiver.script[SMS_PATH] = [422]
    t = await open_for_customer(nd, staff, Contact(phone="13900001111"))
    await t.status(TicketStatus.PROCESSING, "checking the order")
    [row] = await settled_rows(nd, t.id, "status_changed", "sms", status="failed")
    assert len(receiver.at(SMS_PATH)) == 1
    assert row.error == "SMS gateway answered HTTP 422"
    assert row.response_status == 422


async def test_group_robots_get_their_own_formats_and_signatures(
    nd: Desk, receiver: HttpReceiver
) -> None:
    staff = await nd.staff()
    await prefer(
        nd,
        staff.agent_id,
        channels=["in_app", "wecom", "dingtalk", "feishu"],
        locale="en",
        wecom_webhook_url=receiver.url("/wecom?key=k1"),
        dingtalk_webhook_url=receiver.url("/dingtalk?access_token=t1"),
        dingtalk_secret="SECdingtalk",
        feishu_webhook_url=receiver.url("/feishu"),
        feishu_secret="feishu-secret",
    )
    receiver.bodies.update(
        {"/wecom": {"errcode": 0}, "/dingtalk": {"errcode": 0}, "/feishu": {"code": 0}}
    )
    t = await nd.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.admin_id
    )
    await assign(t, staff.agent_id)
    for channel in ("wecom", "dingtalk", "feishu"):
        await settled_rows(nd, t.id, "ticket_assigned", channel)
    subject = f"[Ticket {t.number}] Assigned to you: Parcel never arrived"

    [wecom] = receiver.at("/wecom")
    assert wecom.query == {"key": "k1"}
    assert wecom.json()["msgtype"] == "markdown"
    assert wecom.json()["markdown"]["content"].startswith(f"**{subject}**\n")

    [ding] = receiver.at("/dingtalk")
    ts = ding.query["timestamp"]
    mac = hmac.new(b"SECdingtalk", f"{ts}\nSECdingtalk".encode(), hashlib.sha256).digest()
    assert ding.query["sign"] == base64.b64encode(mac).decode()
    assert ding.query["access_token"] == "t1"
    markdown = ding.json()["markdown"]
    assert ding.json()["msgtype"] == "markdown"
    assert markdown["title"] == subject

    [feishu] = receiver.at("/feishu")
    doc = feishu.json()
    mac = hmac.new(f"{doc['timestamp']}\nfeishu-secret".encode(), b"", hashlib.sha256).digest()
    assert doc["sign"] == base64.b64encode(mac).decode()
    assert doc["msg_type"] == "text"
    assert doc["content"]["text"].startswith(subject)


async def test_robot_error_code_in_a_200_answer_fails_the_notice(
    nd: Desk, receiver: HttpReceiver
) -> None:
    staff = await nd.staff()
    await prefer(
        nd, staff.agent_id, channels=["wecom"], wecom_webhook_url=receiver.url("/wecom-bad")
    )
    receiver.bodies["/wecom-bad"] = {"errcode": 93000, "errmsg": "invalid webhook url"}
    t = await nd.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.admin_id
    )
    await assign(t, staff.agent_id)
    [row] = await settled_rows(nd, t.id, "ticket_assigned", "wecom", status="failed")
    assert row.error == "WeCom robot error 93000: invalid webhook url"
    assert len(receiver.at("/wecom-bad")) == 1


async def timer_started(desk: Desk, notification_id: int) -> bool:
    handle = desk.client.get_workflow_handle(f"notify-{notification_id}")
    history = await handle.fetch_history()
    return any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events)


async def test_quiet_hours_hold_a_routine_notice_until_morning_but_not_an_urgent_one(
    nd: Desk, smtp: SmtpServer
) -> None:
    staff = await nd.staff()
    local = (await nd.now()).astimezone(ZoneInfo("Asia/Shanghai"))
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=2)).time()
    await prefer(nd, staff.agent_id, quiet_hours_start=start, quiet_hours_end=end)
    address = await email_of(nd, staff.agent_id)

    routine = await held_by_admin(nd, staff)
    await assign(routine, staff.agent_id)
    [held] = await rows(nd, routine.id, "ticket_assigned", "email")
    await eventually(lambda: timer_started(nd, held.id), "the quiet-hours timer")

    urgent = await held_by_admin(nd, staff, Priority.URGENT)
    await assign(urgent, staff.agent_id)
    await settled_rows(nd, urgent.id, "ticket_assigned", "email")
    assert [m["Subject"] for m in smtp.mailbox.to(address)] == [
        f"[工单 {urgent.number}] 已分派给您：Parcel never arrived"
    ]
    [still] = await rows(nd, routine.id, "ticket_assigned", "email")
    assert still.status == "pending"

    await nd.env.sleep(timedelta(hours=2))
    await settled_rows(nd, routine.id, "ticket_assigned", "email")
    subjects = [m["Subject"] for m in smtp.mailbox.to(address)]
    assert f"[工单 {routine.number}] 已分派给您：Parcel never arrived" in subjects


REPLAYS = Path(__file__).resolve().parent.parent / "replay" / "histories" / "notification"


HISTORIES = sorted(REPLAYS.glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_delivery_histories_replay_deterministically(path: Path) -> None:
    """Quiet-hours wait then delivery; retries then a permanent failure; a plan's push."""
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"notify-replay-{path.stem}", text)
    replayer = Replayer(workflows=[NotificationDelivery], data_converter=TEST_DATA_CONVERTER)
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None


def test_every_delivery_path_has_a_recorded_history() -> None:
    # push_delivered: recorded after the delivery activity began to heartbeat.
    assert {p.stem for p in REPLAYS.glob("*.json")} == {
        "quiet_hours_then_delivered",
        "retried_then_permanent_failure",
        "push_delivered",
    }


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_mail_travels_over_starttls_and_plain_text_is_refused_for_good(
    tmp_path: Path, settings: Settings
) -> None:
    cert, key = await asyncio.to_thread(self_signed_certificate, tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), free_port()
    server = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    server.start()
    try:
        tls = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_tls": "starttls",
                "smtp_validate_certs": False,  # self-signed
            }
        )
        sender = EmailSender(tls)
        note = Message(subject="Ticket update", body="Hello\n", short="Ticket update")
        mail = sender.compose(to="ops@example.com", message=note, key="k-1", lang="en")
        await sender.send(mail)
        assert [m["Subject"] for m in mailbox.messages] == ["Ticket update"]

        plain = EmailSender(tls.model_copy(update={"smtp_tls": "none"}))
        with pytest.raises(ApplicationError) as refused:
            await plain.send(mail)
        assert refused.value.non_retryable
        assert len(mailbox.messages) == 1
    finally:
        server.stop()
