"""A known week of tickets and customers for the report tests (numbers worked out by hand).

Calendar: Asia/Shanghai, Mon–Fri 09:00–18:00, Wednesday 2025-10-01 a holiday. Window: Monday
2025-09-29 to Sunday 2025-10-05. Policy: the standard one (urgent 2 h / 24 h, normal 4 h /
48 h, low 12 h / 72 h, business time).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.report_facts import write_ticket_facts
from core.db import make_sessionmaker
from domain.calendar import CalendarSpec, Weekday
from domain.sla import standard_policy
from models import (
    Customer,
    CustomerContact,
    CustomerInteraction,
    CustomerOrder,
    ReportWord,
    Ticket,
)

TZ = ZoneInfo("Asia/Shanghai")
HOLIDAY = date(2025, 10, 1)
WINDOW = {"from": "2025-09-29", "to": "2025-10-05"}
CALENDAR = CalendarSpec(
    name="report-test",
    timezone="Asia/Shanghai",
    working_hours={
        day: [(time(9), time(18))]
        for day in (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
    },
    holidays=frozenset({HOLIDAY}),
)


def at(day: int, hour: int, minute: int = 0, month: int = 9) -> datetime:
    """A local Shanghai time in autumn 2025."""
    return datetime(2025, month, day, hour, minute, tzinfo=TZ)


def oct_(day: int, hour: int, minute: int = 0) -> datetime:
    return at(day, hour, minute, month=10)


@dataclass
class Seeded:
    department_id: int
    tickets: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)


def _events(*pairs: tuple[str, datetime], priority: str) -> list[dict[str, Any]]:
    out = []
    for kind, moment in pairs:
        event: dict[str, Any] = {"kind": kind, "at": moment.isoformat()}
        if kind == "created":
            event["priority"] = priority
        out.append(event)
    return out


TICKETS: dict[str, dict[str, Any]] = {
    # Normal: answered after 1 h, resolved after 5 h, satisfied.
    "T1": {
        "priority": "normal",
        "category": "产品质量",
        "channel": "web_form",
        "title": "扫码枪无法连接蓝牙",
        "status": "resolved",
        "satisfaction": "satisfied",
        "events": [
            ("created", at(29, 10)),
            ("first_response", at(29, 11)),
            ("resolved", at(29, 15)),
        ],
    },
    # Urgent, paused 10:00–14:00 awaiting the customer: 3 h business, 7 h calendar.
    "T2": {
        "priority": "urgent",
        "category": "产品质量",
        "channel": "api",
        "title": "扫码枪蓝牙经常断开",
        "status": "resolved",
        "satisfaction": "basically_satisfied",
        "events": [
            ("created", at(30, 9)),
            ("first_response", at(30, 9, 30)),
            ("paused", at(30, 10)),
            ("resumed", at(30, 14)),
            ("resolved", at(30, 16)),
        ],
    },
    # Normal across the holiday: first response 2 h business / 41 h calendar.
    "T3": {
        "priority": "normal",
        "category": "功能建议",
        "channel": "web_form",
        "title": "希望报表支持导出",
        "status": "resolved",
        "satisfaction": "unsatisfied",
        "events": [
            ("created", at(30, 17)),
            ("first_response", oct_(2, 10)),
            ("resolved", oct_(2, 17)),
        ],
    },
    # Low, reopened: 8 h + 2 h of business time over two cycles.
    "T4": {
        "priority": "low",
        "category": "服务态度",
        "channel": "staff",
        "title": "客服回复太慢",
        "status": "resolved",
        "satisfaction": "satisfied",
        "reopen_count": 1,
        "events": [
            ("created", at(29, 9)),
            ("first_response", at(29, 12)),
            ("resolved", at(29, 17)),
            ("reopened", at(30, 9)),
            ("resolved", at(30, 11)),
        ],
    },
    # Urgent, never answered: first response breached at 11:00, still pending.
    "T5": {
        "priority": "urgent",
        "category": "功能建议",
        "channel": "api",
        "title": "系统无法登录",
        "status": "pending",
        "events": [("created", oct_(2, 9)), ("progress", oct_(2, 12))],
    },
    # Normal, answered, still processing.
    "T6": {
        "priority": "normal",
        "category": "产品质量",
        "channel": "email",
        "title": "打印机卡纸",
        "status": "processing",
        "events": [("created", oct_(3, 10)), ("first_response", oct_(3, 10, 30))],
    },
    # Outside the window (the Sunday before).
    "T0": {
        "priority": "normal",
        "category": "产品质量",
        "channel": "web_form",
        "title": "窗口之外",
        "status": "pending",
        "events": [("created", at(28, 10))],
    },
}


def _ticket_row(key: str, spec: dict[str, Any], department_id: int) -> Ticket:
    events = _events(*spec["events"], priority=spec["priority"])
    created = spec["events"][0][1]
    last = spec["events"][-1][1]
    tag = uuid.uuid4().hex[:10]
    resolved_at = max((m for kind, m in spec["events"] if kind == "resolved"), default=None)
    return Ticket(
        number=f"RPT{tag}",
        workflow_id=f"report-test-{tag}",
        title=spec["title"],
        description=spec["title"],
        category=spec["category"],
        priority=spec["priority"],
        status=spec["status"],
        channel=spec["channel"],
        department_id=department_id,
        created_at=created,
        updated_at=last,
        resolved_at=resolved_at,
        first_response_at=next((m for k, m in spec["events"] if k == "first_response"), None),
        reopen_count=spec.get("reopen_count", 0),
        satisfaction=spec.get("satisfaction"),
        sla_binding={
            "policy": standard_policy().model_dump(mode="json"),
            "calendar": CALENDAR.model_dump(mode="json"),
        },
        sla_events=events,
        last_seq=len(events),
    )


async def seed_week(engine: AsyncEngine, department_id: int) -> Seeded:
    """Insert the tickets and customers above into `department_id` and write their facts."""
    seeded = Seeded(department_id)
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        # An admin's user term: jieba alone would cut 扫码枪 into 扫码 + 枪.
        await session.execute(
            insert(ReportWord).values(word="扫码枪", kind="user").on_conflict_do_nothing()
        )
        rows = {k: _ticket_row(k, spec, department_id) for k, spec in TICKETS.items()}
        session.add_all(rows.values())
        await session.flush()
        for key, row in rows.items():
            seeded.tickets[key] = row.id
            await write_ticket_facts(session, row.id)
        created = datetime(2025, 9, 1, 10, tzinfo=TZ)
        tag = uuid.uuid4().hex[:8]
        c1 = Customer(
            code=f"RC1{tag}",
            name=f"上海一号{tag}",
            industry="制造业",
            region="上海",
            address="浦东新区",
            source="展会",
            requirement="扫码设备",
            founded_on=date(2010, 1, 1),
            department_id=department_id,
            approval="approved",
            stage="deal",
            created_at=created,
            tags=["report-vip"],
        )
        c2 = Customer(
            code=f"RC2{tag}",
            name=f"北京二号{tag}",
            industry="零售",
            department_id=department_id,
            approval="approved",
            stage="intention",
            created_at=created,
        )
        c3 = Customer(
            code=f"RC3{tag}",
            name=f"广州三号{tag}",
            department_id=department_id,
            approval="approved",
            stage="lost",
            created_at=created,
        )
        session.add_all([c1, c2, c3])
        await session.flush()
        seeded.customers = {"C1": c1.id, "C2": c2.id, "C3": c3.id}
        session.add(CustomerContact(customer_id=c1.id, name="x", is_primary=True))
        session.add_all(
            [
                CustomerOrder(
                    customer_id=c1.id,
                    order_no=f"SO{tag}1",
                    amount=Decimal("1000.00"),
                    ordered_on=date(2025, 9, 10),
                ),
                CustomerOrder(
                    customer_id=c1.id,
                    order_no=f"SO{tag}2",
                    amount=Decimal("2500.50"),
                    ordered_on=date(2025, 9, 30),
                ),
                CustomerOrder(
                    customer_id=c2.id,
                    order_no=f"SO{tag}3",
                    amount=Decimal("300.00"),
                    ordered_on=date(2025, 10, 2),
                ),
            ]
        )
        session.add_all(
            [
                CustomerInteraction(customer_id=c1.id, kind="call", at=at(29, 10), summary="a"),
                CustomerInteraction(customer_id=c1.id, kind="visit", at=at(30, 10), summary="b"),
                CustomerInteraction(customer_id=c2.id, kind="email", at=oct_(1, 10), summary="c"),
            ]
        )
    return seeded
