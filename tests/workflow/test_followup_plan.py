"""Follow-up plans on the time-skipping server: months of cadence in seconds, real Postgres."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from api.followups.service import start_plan
from core import devstack, pii
from core.settings import Settings
from domain.cadence import PlanChannel, PlanStatus, add_months
from models import (
    ContactPush,
    Customer,
    CustomerContact,
    Department,
    FollowUpEvent,
    FollowUpPlan,
    Notification,
    User,
)
from tests.conftest import TEST_DATA_CONVERTER
from tests.notify_support import HttpReceiver, SmtpServer, eventually, http_receiver, text_of
from worker import build_worker
from workflows import search_attributes as sa
from workflows.followup_types import NewPlan, PlanAction, PlanResult, UpgradeAvailable

TASK_QUEUE = "closedloop-plans"
SETTLE_TIMEOUT = 20.0
# Between skips the test server's clock runs in real time: an event lands a moment after its due.
SKEW = timedelta(seconds=5)
SH = ZoneInfo("Asia/Shanghai")

_OPEN = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: 1,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: 1,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: -1,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: -1,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: -1,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: -1,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: -1,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: -1,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: -1,
}


@dataclass
class Row:
    seq: int
    at: datetime
    type: str
    data: dict[str, Any]


class Plan:
    """One plan under test: its workflow handle, its rows, and the clock."""

    def __init__(self, desk: Desk, plan_id: int, created_at: datetime) -> None:
        self.desk, self.id, self.created_at = desk, plan_id, created_at
        self.handle: WorkflowHandle[Any, Any] = desk.env.client.get_workflow_handle(
            f"plan-{plan_id}"
        )

    async def settle(self) -> None:
        """Wait until the worker has finished every task and activity the plan has open."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        while True:
            history = await self.handle.fetch_history()
            if sum(_OPEN.get(e.event_type, 0) for e in history.events) <= 0:
                return
            assert loop.time() < deadline, f"plan-{self.id} still has open work"
            await asyncio.sleep(0.02)

    async def advance_to(self, at: datetime) -> None:
        now = await self.desk.env.get_current_time()
        if at > now:
            await self.desk.env.sleep(at - now)
        await self.settle()

    async def update(self, name: str, reason: str | None = None) -> PlanResult:
        action = PlanAction(actor="user:1", reason=reason)
        result: PlanResult = await self.handle.execute_update(name, action, result_type=PlanResult)
        await self.settle()
        return result

    async def signal(self, name: str, arg: Any) -> None:
        await self.handle.signal(name, arg)
        await self.settle()

    async def row(self) -> FollowUpPlan:
        async with self.desk.sessions() as session:
            plan = await session.get(FollowUpPlan, self.id)
            assert plan is not None
            return plan

    async def events(self, *types: str) -> list[Row]:
        async with self.desk.sessions() as session:
            found = await session.scalars(
                select(FollowUpEvent)
                .where(FollowUpEvent.plan_id == self.id)
                .order_by(FollowUpEvent.seq)
            )
            rows = [Row(r.seq, r.at, r.type, dict(r.data)) for r in found]
        return [r for r in rows if not types or r.type in types]

    async def notices(self, template: str) -> list[Notification]:
        async with self.desk.sessions() as session:
            found = await session.scalars(
                select(Notification)
                .where(
                    Notification.payload["plan_id"].as_integer() == self.id,
                    Notification.template == template,
                    Notification.channel == "in_app",
                )
                .order_by(Notification.id)
            )
            return list(found)


@dataclass
class People:
    department_id: int
    manager_id: int
    owner_id: int


class Desk:
    def __init__(self, env: WorkflowEnvironment, engine: AsyncEngine, settings: Settings) -> None:
        self.env, self.settings = env, settings
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.plans: list[Plan] = []

    async def people(self) -> People:
        tag = uuid.uuid4().hex[:8]
        async with self.sessions.begin() as session:
            dept = Department(code=f"fu-{tag}", name=f"fu-{tag}")
            session.add(dept)
            await session.flush()
            manager, owner = (
                User(
                    email=f"{role}-{tag}@example.com",
                    name=role,
                    password_hash="!",
                    role=role,
                    department_id=dept.id,
                )
                for role in ("manager", "agent")
            )
            session.add_all([manager, owner])
            await session.flush()
            dept.manager_id = manager.id
            return People(dept.id, manager.id, owner.id)

    async def customer(
        self,
        people: People,
        phone: str | None = "13812345678",
        email: str | None = "li@example.com",
        **fields: Any,
    ) -> int:
        """An approved customer whose primary contact (sealed, as the API stores it) is Li."""
        async with self.sessions.begin() as session:
            customer = Customer(
                code=f"CUS{uuid.uuid4().hex[:12]}",
                name="示例客户",
                owner_id=people.owner_id,
                department_id=people.department_id,
                approval="approved",
                **{"tier": "core", **fields},
            )
            session.add(customer)
            await session.flush()
            contact = CustomerContact(
                customer_id=customer.id,
                name=pii.seal("李雷"),
                phone=pii.seal_opt(phone),
                phone_bidx=pii.phone_index(phone),
                email=pii.seal_opt(email),
                email_bidx=pii.email_index(email),
                is_primary=True,
            )
            session.add(contact)
            return customer.id

    async def start(self, people: People, customer_id: int, **fields: Any) -> Plan:
        """Allocate an id and start the plan with update-with-start, as the API does."""
        async with self.sessions() as session:
            plan_id = int(
                await session.scalar(
                    text("SELECT nextval(pg_get_serial_sequence('follow_up_plans', 'id'))")
                )
            )
        new = NewPlan(
            plan_id=plan_id,
            customer_id=customer_id,
            owner_id=people.owner_id,
            actor=f"user:{people.owner_id}",
            **fields,
        )
        result = await start_plan(self.env.client, self.settings, new)
        assert result.status is PlanStatus.ACTIVE
        plan = Plan(self, plan_id, (await self._created_at(plan_id)))
        await plan.settle()
        self.plans.append(plan)
        return plan

    async def _created_at(self, plan_id: int) -> datetime:
        async with self.sessions() as session:
            at = await session.scalar(
                select(FollowUpPlan.created_at).where(FollowUpPlan.id == plan_id)
            )
            assert at is not None
            return at

    async def touch_customer(self, customer_id: int, at: datetime) -> None:
        """What logging an interaction does to the customer file."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(Customer).where(Customer.id == customer_id).values(last_contact_at=at)
            )

    async def pushes(self, plan: Plan) -> list[ContactPush]:
        async with self.sessions() as session:
            found = await session.scalars(
                select(ContactPush).where(ContactPush.plan_id == plan.id).order_by(ContactPush.id)
            )
            return list(found)

    async def end_plans(self) -> None:
        """Cancel what a test left live, so its timers stay out of later tests' skips."""
        for plan in self.plans:
            if (await plan.row()).status in {"active", "paused"}:
                await plan.update("cancel")
        self.plans.clear()


@pytest.fixture(scope="module")
async def plan_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(devstack.temporal_test_server()),
        data_converter=TEST_DATA_CONVERTER,
    )
    # The test server knows no custom attributes until told; every upsert would fail.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in sa.ALL_KEYS
            },
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
async def sms_gateway() -> AsyncIterator[HttpReceiver]:
    """The SMS vendor's API, played by a local HTTP receiver that accepts everything."""
    async with http_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
async def module_desk(
    plan_env: WorkflowEnvironment,
    engine: AsyncEngine,
    settings: Settings,
    smtp: SmtpServer,
    sms_gateway: HttpReceiver,
) -> AsyncIterator[Desk]:
    """Pushes are really delivered: mail to a local SMTP server, texts to a local gateway."""
    plan_settings = settings.model_copy(
        update={
            "temporal_task_queue": TASK_QUEUE,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_tls": "none",
            "smtp_from": "care@closedloop.test",
            "sms_gateway_url": sms_gateway.url("/v1/messages"),
            "public_base_url": "https://help.closedloop.test",
            "push_quiet_start": None,  # the test server's clock can be at any local hour
        }
    )
    async with build_worker(plan_env.client, engine, plan_settings):
        yield Desk(plan_env, engine, plan_settings)


@pytest.fixture
async def desk(module_desk: Desk) -> AsyncIterator[Desk]:
    yield module_desk
    await module_desk.end_plans()


def assert_at(row: Row, due: datetime) -> None:
    assert due <= row.at < due + SKEW, f"{row.type} at {row.at}, due {due}"


# --- tests ---------------------------------------------------------------------------


async def test_a_due_plan_reminds_its_owner_once(desk: Desk) -> None:
    people = await desk.people()
    plan = await desk.start(people, await desk.customer(people, tier="core"))
    row = await plan.row()
    assert (row.effective_cadence, row.cadence, row.status) == ("P1M", None, "active")
    due = add_months(plan.created_at, 1)
    assert row.next_due_at == due
    await plan.advance_to(due - timedelta(hours=1))
    assert await plan.events("reminder_sent") == []
    await plan.advance_to(due + timedelta(hours=1))
    [reminder] = await plan.events("reminder_sent")
    assert_at(reminder, due)
    [notice] = await plan.notices("follow_up_due")
    assert (notice.user_id, notice.status) == (people.owner_id, "delivered")
    await plan.advance_to(due + timedelta(days=2))
    assert len(await plan.events("reminder_sent")) == 1
    attributes = {
        p.key.name: p.value for p in (await plan.handle.describe()).typed_search_attributes
    }
    assert attributes[sa.PLAN_STATUS.name] == "active"
    assert attributes[sa.OWNER.name] == str(people.owner_id)
    assert attributes[sa.NEXT_DUE.name] == due


async def test_a_logged_interaction_resets_the_cadence(desk: Desk) -> None:
    people = await desk.people()
    plan = await desk.start(people, await desk.customer(people, tier="ordinary"))
    first_due = (await plan.row()).next_due_at
    assert first_due == plan.created_at + timedelta(days=45)
    touch_at = plan.created_at + timedelta(days=20)
    await plan.advance_to(touch_at)
    # Exactly what the customer API sends after storing an interaction.
    await plan.signal("interaction_logged", {"at": touch_at.isoformat()})
    row = await plan.row()
    assert (row.last_touch_at, row.next_due_at) == (touch_at, touch_at + timedelta(days=45))
    [touched] = await plan.events("touch_logged")
    assert touched.data["source"] == "interaction"
    await plan.advance_to(first_due + timedelta(days=1))
    assert await plan.events("reminder_sent") == []
    await plan.advance_to(touch_at + timedelta(days=45, hours=1))
    [reminder] = await plan.events("reminder_sent")
    assert_at(reminder, touch_at + timedelta(days=45))


async def test_a_touch_whose_signal_was_lost_is_found_at_the_due(desk: Desk) -> None:
    people = await desk.people()
    customer_id = await desk.customer(people, tier="core")
    plan = await desk.start(people, customer_id, cadence="P10D")
    touch_at = plan.created_at + timedelta(days=5)
    await desk.touch_customer(customer_id, touch_at)
    await plan.advance_to(plan.created_at + timedelta(days=10, hours=1))
    assert await plan.events("reminder_sent") == []
    [touched] = await plan.events("touch_logged")
    assert touched.data["source"] == "customer_file"
    assert (await plan.row()).next_due_at == touch_at + timedelta(days=10)


async def test_an_overdue_plan_escalates_to_the_owners_manager_once(desk: Desk) -> None:
    people = await desk.people()
    plan = await desk.start(people, await desk.customer(people), cadence="P7D", grace_period="P2D")
    due = plan.created_at + timedelta(days=7)
    await plan.advance_to(due + timedelta(days=2) - timedelta(hours=1))
    assert await plan.events("escalated") == []
    await plan.advance_to(due + timedelta(days=12))
    [escalated] = await plan.events("escalated")
    assert_at(escalated, due + timedelta(days=2))
    assert [n.user_id for n in await plan.notices("follow_up_overdue")] == [people.manager_id]
    assert (await plan.row()).escalated_at == escalated.at
    assert [r.type for r in await plan.events("reminder_sent", "escalated")] == [
        "reminder_sent",
        "escalated",
    ]


async def test_birthday_greeting_task_and_push_three_days_before(desk: Desk) -> None:
    people = await desk.people()
    local = (await desk.env.get_current_time()).astimezone(SH) + timedelta(days=20)
    occurrence = _safe(local.date())
    customer_id = await desk.customer(people, tier="core", birthday=occurrence.replace(year=1988))
    plan = await desk.start(people, customer_id, channels=[PlanChannel.CALL, PlanChannel.SMS])
    task_at = datetime.combine(occurrence - timedelta(days=3), datetime.min.time(), SH)
    task_at += timedelta(hours=9)
    await plan.advance_to(task_at - timedelta(hours=1))
    assert await plan.events("birthday_task") == []
    await plan.advance_to(task_at + timedelta(hours=1))
    [task] = await plan.events("birthday_task")
    assert_at(task, task_at)
    assert task.data["birthday"] == occurrence.isoformat()
    [notice] = await plan.notices("birthday_greeting")
    assert notice.user_id == people.owner_id
    [sent] = await plan.events("push_sent")
    [push] = await desk.pushes(plan)
    assert (sent.data["channel"], sent.data["push_id"], push.channel) == ("sms", push.id, "sms")
    await plan.advance_to(task_at + timedelta(days=5))
    assert len(await plan.events("birthday_task")) == 1


async def test_ordinary_customers_are_pushed_at_most_twice_a_month(desk: Desk) -> None:
    people = await desk.people()
    customer_id = await desk.customer(people, tier="ordinary", tags=["ERP"])
    plan = await desk.start(people, customer_id, channels=[PlanChannel.EMAIL])
    for product in ("v5", "v6", "v7"):
        await plan.signal("upgrade_available", UpgradeAvailable(tag="ERP", product=product))
    assert len(await plan.events("upgrade_task")) == 3
    assert [r.data["key"] for r in await plan.events("push_sent")] == [
        "upgrade:ERP:v5",
        "upgrade:ERP:v6",
    ]
    [skipped] = await plan.events("push_skipped")
    assert (skipped.data["key"], skipped.data["reason"]) == ("upgrade:ERP:v7", "monthly_cap")
    assert len(await desk.pushes(plan)) == 2
    # The same upgrade again is not a new reminder; an untagged one is none at all.
    await plan.signal("upgrade_available", UpgradeAvailable(tag="ERP", product="v5"))
    await plan.signal("upgrade_available", UpgradeAvailable(tag="CRM", product="v1"))
    assert len(await plan.events("upgrade_task")) == 3


async def test_a_channel_pauses_after_three_unopened_pushes_until_the_customer_engages(
    desk: Desk,
) -> None:
    people = await desk.people()
    customer_id = await desk.customer(people, tier="core", tags=["ERP"])
    plan = await desk.start(people, customer_id, channels=[PlanChannel.SMS, PlanChannel.EMAIL])

    async def upgrade(product: str) -> Row:
        await plan.signal("upgrade_available", UpgradeAvailable(tag="ERP", product=product))
        return (await plan.events("push_sent", "push_skipped"))[-1]

    assert [(await upgrade(p)).data["channel"] for p in ("a", "b", "c")] == ["sms"] * 3
    fourth = await upgrade("d")
    assert (fourth.type, fourth.data["channel"], fourth.data["paused"]) == (
        "push_sent",
        "email",
        ["sms"],
    )
    now = await desk.env.get_current_time()
    await desk.touch_customer(customer_id, now)
    await plan.signal("interaction_logged", {"at": now.isoformat()})
    fifth = await upgrade("e")
    assert (fifth.data["channel"], fifth.data["paused"]) == ("sms", [])


async def test_dormant_customer_gets_a_reactivation_task_after_180_idle_days(desk: Desk) -> None:
    people = await desk.people()
    plan = await desk.start(people, await desk.customer(people, tier="potential"))
    await plan.advance_to(plan.created_at + timedelta(days=181))
    [task] = await plan.events("reactivation_task")
    assert_at(task, plan.created_at + timedelta(days=180))
    assert [n.user_id for n in await plan.notices("dormant_reactivation")] == [people.owner_id]
    # Quarterly cadence: the reminders came first (day ~91), then the escalation.
    types = [r.type for r in await plan.events("reminder_sent", "escalated", "reactivation_task")]
    assert types == ["reminder_sent", "escalated", "reactivation_task"]


async def test_a_new_segment_moves_the_plan_to_its_cadence(desk: Desk) -> None:
    people = await desk.people()
    plan = await desk.start(people, await desk.customer(people, tier="potential"))
    assert (await plan.row()).effective_cadence == "P3M"
    await plan.signal("cadence_changed", {"segment": "high_value"})
    row = await plan.row()
    assert (row.effective_cadence, row.next_due_at) == (
        "P15D",
        plan.created_at + timedelta(days=15),
    )
    [changed] = await plan.events("cadence_changed")
    assert (changed.data["from"], changed.data["to"]) == ("P3M", "P15D")


async def test_pause_resume_and_cancel_follow_the_plan_state(desk: Desk) -> None:
    people = await desk.people()
    plan = await desk.start(people, await desk.customer(people), cadence="P5D")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await plan.update("resume")
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "Conflict"
    assert (await plan.update("pause", "customer on holiday")).status is PlanStatus.PAUSED
    with pytest.raises(WorkflowUpdateFailedError):
        await plan.update("pause")
    await plan.advance_to(plan.created_at + timedelta(days=9))
    assert await plan.events("reminder_sent", "escalated") == []
    assert (await plan.row()).status == "paused"
    assert (await plan.update("resume")).status is PlanStatus.ACTIVE
    # The due passed while paused: the owner hears about it as soon as the plan resumes.
    resumed, reminder = (await plan.events())[-2:]
    assert (resumed.type, reminder.type) == ("resumed", "reminder_sent")
    # Grace runs from that reminder, not from the due that passed during the pause.
    await plan.advance_to(reminder.at + timedelta(days=3) - timedelta(hours=1))
    assert await plan.events("escalated") == []
    await plan.advance_to(reminder.at + timedelta(days=3, hours=1))
    assert len(await plan.events("escalated")) == 1
    result = await plan.update("cancel", "customer lost")
    assert result.status is PlanStatus.CANCELLED
    final = PlanResult.model_validate(await asyncio.wait_for(plan.handle.result(), timeout=10))
    assert final.status is PlanStatus.CANCELLED
    assert (await plan.row()).status == "cancelled"
    types = [r.type for r in await plan.events()]
    assert types[0] == "created"
    assert "paused" in types
    assert types[-1] == "cancelled"


def _safe(day: date) -> date:
    """Keep generated birthdays off 29 February (its own rule is unit-tested)."""
    return day.replace(day=28) if (day.month, day.day) == (2, 29) else day


def _unique_phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


async def test_a_push_reaches_the_customers_phone_and_its_link_counts_as_engagement(
    desk: Desk, sms_gateway: HttpReceiver, http: httpx.AsyncClient
) -> None:
    people = await desk.people()
    phone = _unique_phone()
    customer_id = await desk.customer(people, tier="core", tags=["ERP"], phone=phone)
    plan = await desk.start(people, customer_id, channels=[PlanChannel.SMS])
    await plan.signal("upgrade_available", UpgradeAvailable(tag="ERP", product="v9"))
    [push] = await desk.pushes(plan)

    def texts() -> list[dict[str, Any]]:
        return [r.json() for r in sms_gateway.at("/v1/messages") if r.json()["to"] == phone]

    async def texted() -> bool:
        return bool(texts())

    await eventually(texted, "the upgrade text")
    [sent] = texts()
    assert sent["text"].startswith("李雷您好，您使用的 ERP 已有新版本 v9")
    found = re.search(r"https://help\.closedloop\.test(/api/v1/public/pushes/\S+)", sent["text"])
    assert found is not None
    link = found.group(1)
    assert sent["idempotency_key"] == f"push:{push.idempotency_key}"
    assert push.opened_at is None

    page = await http.get(link)
    assert page.status_code == 200
    assert "谢谢" in page.text
    [opened] = await desk.pushes(plan)
    assert opened.opened_at is not None
    again = await http.get(link)
    assert again.status_code == 200
    assert (await desk.pushes(plan))[0].opened_at == opened.opened_at
    forged = await http.get(link[:-3] + "AAA")
    assert forged.status_code == 404
    assert len(texts()) == 1


async def test_an_email_push_greets_the_primary_contact_in_the_default_language(
    desk: Desk, smtp: SmtpServer
) -> None:
    people = await desk.people()
    address = f"{uuid.uuid4().hex[:10]}@example.com"
    customer_id = await desk.customer(people, tier="core", tags=["CRM"], email=address)
    plan = await desk.start(people, customer_id, channels=[PlanChannel.EMAIL, PlanChannel.SMS])
    await plan.signal("upgrade_available", UpgradeAvailable(tag="CRM", product="2026.4"))

    async def mailed() -> bool:
        return bool(smtp.mailbox.to(address))

    await eventually(mailed, "the upgrade mail")
    [mail] = smtp.mailbox.to(address)
    assert mail["Subject"] == "CRM 升级提醒：2026.4"
    body = text_of(mail)
    assert body.startswith("李雷您好，")
    assert "https://help.closedloop.test/api/v1/public/pushes/" in body
    [push] = await desk.pushes(plan)
    async with desk.sessions() as session:
        status = await session.scalar(
            select(Notification.status).where(
                Notification.idempotency_key == f"push:{push.idempotency_key}"
            )
        )
    assert status == "delivered"


async def test_no_push_when_the_customer_cannot_be_reached_on_the_plans_channels(
    desk: Desk,
) -> None:
    people = await desk.people()
    # WeChat has no sender here; a customer without a phone cannot get a text.
    for channels, fields in (
        ([PlanChannel.WECHAT], {}),
        ([PlanChannel.SMS], {"phone": None}),
    ):
        customer_id = await desk.customer(people, tier="core", tags=["ERP"], **fields)
        plan = await desk.start(people, customer_id, channels=channels)
        await plan.signal("upgrade_available", UpgradeAvailable(tag="ERP", product="v1"))
        assert len(await plan.events("upgrade_task")) == 1
        [skipped] = await plan.events("push_skipped")
        assert skipped.data["reason"] == "no_reachable_channel"
        assert await desk.pushes(plan) == []
