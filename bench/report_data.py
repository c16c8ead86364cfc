"""COPY-generated data for the report benchmark: a year of tickets with their report facts,
customers, orders and interactions, spread over the given departments."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import Stack

CATEGORIES = ["产品质量", "功能建议", "服务态度", "价格异议", "物流配送", "安装调试", "退换货"]
WORDS = [
    "扫码枪",
    "蓝牙",
    "打印机",
    "卡纸",
    "登录",
    "闪退",
    "发票",
    "退款",
    "物流",
    "延迟",
    "安装",
    "报表",
    "导出",
    "价格",
    "折扣",
    "态度",
    "电话",
    "短信",
    "login",
    "invoice",
    "crash",
    "printer",
    "refund",
    "delivery",
    "timeout",
    "upgrade",
    "license",
    "sync",
    "backup",
    "wifi",
]
PRIORITIES = ["urgent", "normal", "low"]
STATUSES = ["pending", "processing", "awaiting_customer", "resolved", "closed"]
CHANNELS = ["web_form", "api", "staff", "cs_system", "email"]
SATISFACTION = [None, None, "satisfied", "basically_satisfied", "unsatisfied"]
STAGES = ["lead", "intention", "deal", "lost"]
TARGETS = {"urgent": (7200, 86400), "normal": (14400, 172800), "low": (43200, 259200)}
DEPARTMENTS = 10


def sizes(full: bool) -> tuple[int, int]:
    tickets = int(os.environ.get("REPORT_BENCH_TICKETS", 1_000_000 if full else 100_000))
    return tickets, max(tickets // 10, 100)


async def _copy(engine: AsyncEngine, table: str, columns: list[str], rows: Any) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg = raw.driver_connection
        assert pg is not None
        async with pg.cursor() as cur:
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            async with cur.copy(sql) as copy:
                for row in rows:
                    await copy.write_row(row)
        await pg.commit()


def _tickets(n: int, depts: list[int], customers: int, now: datetime, rnd: random.Random) -> Any:
    for i in range(1, n + 1):
        created = now - timedelta(seconds=rnd.randrange(365 * 86400))
        prio, status = rnd.choice(PRIORITIES), rnd.choice(STATUSES)
        yield (
            i,
            f"FBR{i:09d}",
            f"ticket-FBR{i:09d}",
            "bench",
            "bench",
            rnd.choice(CATEGORIES),
            prio,
            status,
            rnd.choice(CHANNELS),
            depts[i % len(depts)],
            created,
            created,
            "[]",
            1,
            1 + i % customers,
        )


def _facts(n: int, depts: list[int], customers: int, now: datetime, seed: int) -> Any:
    """The facts of the rows `_tickets` makes from `seed` (own generator for the measures)."""
    rnd = random.Random(seed + 1)
    for i, _, _, _, _, cat, prio, status, channel, dept, created, _, _, _, cust in _tickets(
        n, depts, customers, now, random.Random(seed)
    ):
        resolved = status in ("resolved", "closed")
        fr_b = rnd.randrange(60, 30000)
        res_b = rnd.randrange(3600, 300000) if resolved else None
        fr_t, res_t = TARGETS[prio]
        yield (
            i,
            created,
            dept,
            cat,
            channel,
            prio,
            status,
            cust,
            resolved,
            rnd.random() < 0.05,
            rnd.choice(SATISFACTION) if resolved else None,
            fr_b,
            fr_b * 3,
            res_b,
            res_b * 3 if res_b else None,
            fr_t,
            res_t,
            fr_b <= fr_t,
            (res_b <= res_t) if res_b else None,
            rnd.sample(WORDS, 3),
            1,
        )


async def seed(stack: Stack, depts: list[int], n_tickets: int, n_customers: int) -> None:
    """COPY customers, orders, interactions, tickets and their facts; then ANALYZE."""
    now = datetime.now(UTC)
    rnd = random.Random(15)
    e = stack.engine
    await _copy(
        e,
        "customers",
        [
            "id",
            "code",
            "name",
            "department_id",
            "approval",
            "stage",
            "industry",
            "region",
            "created_at",
            "updated_at",
            "tags",
        ],
        (
            (
                c,
                f"CUSB{c:08d}",
                f"客户{c}",
                depts[c % len(depts)],
                "approved",
                rnd.choice(STAGES),
                "制造业" if c % 2 else None,
                "上海" if c % 3 else None,
                now - timedelta(days=rnd.randrange(730)),
                now,
                ["VIP"] if c % 50 == 0 else [],
            )
            for c in range(1, n_customers + 1)
        ),
    )
    await _copy(
        e,
        "customer_orders",
        ["customer_id", "order_no", "amount", "ordered_on"],
        (
            (
                1 + k % n_customers,
                f"SOB{k:09d}",
                Decimal(rnd.randrange(100, 1_000_000)) / 100,
                (now - timedelta(days=rnd.randrange(365))).date(),
            )
            for k in range(2 * n_customers)
        ),
    )
    await _copy(
        e,
        "customer_interactions",
        ["customer_id", "kind", "at", "summary"],
        (
            (
                1 + rnd.randrange(n_customers),
                "call",
                now - timedelta(seconds=rnd.randrange(365 * 86400)),
                "bench",
            )
            for _ in range(3 * n_customers)
        ),
    )
    ticket_cols = [
        "id",
        "number",
        "workflow_id",
        "title",
        "description",
        "category",
        "priority",
        "status",
        "channel",
        "department_id",
        "created_at",
        "updated_at",
        "sla_events",
        "last_seq",
        "customer_id",
    ]
    await _copy(
        e, "tickets", ticket_cols, _tickets(n_tickets, depts, n_customers, now, random.Random(1))
    )
    fact_cols = [
        "ticket_id",
        "created_at",
        "department_id",
        "category",
        "channel",
        "priority",
        "status",
        "customer_id",
        "resolved",
        "reopened",
        "satisfaction",
        "first_response_business_s",
        "first_response_calendar_s",
        "resolution_business_s",
        "resolution_calendar_s",
        "first_response_target_s",
        "resolution_target_s",
        "first_response_met",
        "resolution_met",
        "keywords",
        "last_seq",
    ]
    await _copy(
        e,
        "ticket_report_facts",
        fact_cols,
        _facts(n_tickets, depts, n_customers, now, 1),
    )
    async with e.begin() as conn:
        for table in ("tickets", "customers", "customer_orders", "customer_interactions"):
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        await conn.execute(text("ANALYZE"))
