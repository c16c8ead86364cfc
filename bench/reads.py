"""Reads: `GET /api/v1/tickets` list/filter latency with 100k tickets in Postgres.

`python -m bench.reads`. Projection rows only (no workflows), inserted with one
`INSERT ... SELECT generate_series`; every row carries a real SLA binding so the API does its
usual SLA summary per item. An admin and a department manager page through each filter by
cursor; the baseline is the same ORM query run directly on the engine (no HTTP, auth or
serialization). Writes bench/results/reads.json, with each first page's query plan root.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Principal
from api.tickets.service import scope_filter
from bench.common import Stack, latency_ms, run_alone, unique_label
from models import Ticket

ROWS = 100_000
DEPARTMENTS = 10
PAGES = 5
LIMIT = 50
CATEGORIES = ["product_quality", "delivery", "billing", "service", "install", "return", "other"]
FILTERS: dict[str, dict[str, Any]] = {
    "all": {},
    "status": {"status": "processing"},
    "priority": {"priority": "urgent"},
    "breached": {"breached": True},
    "category": {"category": "install"},
    "status+priority": {"status": "pending", "priority": "low"},
}
_COLUMNS = {
    "status": Ticket.status,
    "priority": Ticket.priority,
    "breached": Ticket.sla_breached,
    "category": Ticket.category,
}

_INSERT = text(
    """
    INSERT INTO tickets (number, workflow_id, title, description, category, priority, status,
        channel, department_id, created_at, updated_at, sla_binding, sla_events, sla_breached,
        policy_id, policy_version, last_seq)
    SELECT 'FBREAD' || lpad(g::text, 8, '0'), 'ticket-FBREAD' || lpad(g::text, 8, '0'),
        'Bench ticket ' || g, 'read benchmark row',
        (CAST(:categories AS text[]))[1 + (g::bigint * 40503) % 7],
        (ARRAY['urgent', 'normal', 'low'])[1 + (g / 50) % 3],
        (ARRAY['pending', 'processing', 'awaiting_customer', 'resolved', 'closed'])
            [1 + (g / 10) % 5],
        'staff', (CAST(:departments AS int[]))[1 + (g::bigint * 2654435761) % :n_departments],
        now() - make_interval(secs => g), now() - make_interval(secs => g),
        CAST(:binding AS jsonb), CAST(:events AS jsonb), (g::bigint * 97) % 50 = 0, 1, 1, 1
    FROM generate_series(1, :rows) AS g
    """  # multiplicative hashing keeps department, status, priority and category uncorrelated
)


async def seed(stack: Stack, http: httpx.AsyncClient) -> tuple[str, Principal]:
    """100k rows over fresh departments; a manager of the first one (email, principal)."""
    departments = []
    for _ in range(DEPARTMENTS):
        code = unique_label("reads")
        made = await http.post("/api/v1/departments", json={"code": code, "name": code})
        made.raise_for_status()
        departments.append(int(made.json()["id"]))
    email = f"{unique_label('manager')}@example.com"
    user = {"email": email, "name": "m", "password": "password-123", "role": "manager"}
    made = await http.post("/api/v1/users", json={**user, "department_id": departments[0]})
    made.raise_for_status()
    sample = {"title": "reads sample", "description": "d", "category": "product_quality"}
    ticket = (await http.post("/api/v1/tickets", json=sample)).json()
    async with stack.engine.begin() as conn:
        row = (
            await conn.execute(
                text("SELECT sla_binding::text, sla_events::text FROM tickets WHERE id = :id"),
                {"id": ticket["id"]},
            )
        ).one()
        params = {"categories": CATEGORIES, "departments": departments, "binding": row[0]}
        params |= {"events": row[1], "n_departments": DEPARTMENTS, "rows": ROWS}
        await conn.execute(_INSERT, params)
        await conn.execute(text("ANALYZE tickets"))
    principal = Principal(int(made.json()["id"]), "manager", departments[0])
    return email, principal


def query(principal: Principal | None, filters: dict[str, Any], after: int | None) -> Any:
    """The list endpoint's query, built the same way."""
    q = select(Ticket)
    scope = scope_filter(principal) if principal else None
    if scope is not None:
        q = q.where(scope)
    for key, value in filters.items():
        q = q.where(_COLUMNS[key] == value)
    if after is not None:
        q = q.where(Ticket.id < after)
    return q.order_by(Ticket.id.desc()).limit(LIMIT + 1)


async def api_pages(http: httpx.AsyncClient, filters: dict[str, Any]) -> list[float]:
    times, params = [], {**filters, "limit": LIMIT}
    for _ in range(PAGES):
        began = time.perf_counter()
        page = await http.get("/api/v1/tickets", params=params)
        times.append(time.perf_counter() - began)
        page.raise_for_status()
        body = page.json()
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    return times


async def sql_pages(
    session: AsyncSession, principal: Principal | None, filters: dict[str, Any]
) -> list[float]:
    times, after = [], None
    for _ in range(PAGES):
        began = time.perf_counter()
        rows = list(await session.scalars(query(principal, filters, after)))
        times.append(time.perf_counter() - began)
        if len(rows) <= LIMIT:
            break
        after = rows[LIMIT - 1].id
    return times


async def plan_root(session: AsyncSession, principal: Principal | None, f: dict[str, Any]) -> str:
    compiled = query(principal, f, None).compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
    lines = (await session.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
    scans = [ln.strip().split("  (")[0] for ln in lines if "Scan" in ln]
    return " / ".join(scans)


async def bench(stack: Stack) -> dict[str, Any]:
    """p50/p99 per role and filter, API vs direct SQL."""
    rounds = 20 if stack.full else 6
    async with stack.http(headers=stack.admin_headers) as admin:
        email, manager = await seed(stack, admin)
        async with stack.http() as anon:
            form = {"username": email, "password": "password-123"}
            token = (await anon.post("/api/v1/auth/token", data=form)).json()["access_token"]
        results: dict[str, Any] = {}
        async with stack.http(headers={"Authorization": f"Bearer {token}"}) as mgr:
            for role, http, principal in (("admin", admin, None), ("manager", mgr, manager)):
                for name, filters in FILTERS.items():
                    api_times: list[float] = []
                    sql_times: list[float] = []
                    async with AsyncSession(stack.engine) as session:
                        plan = await plan_root(session, principal, filters)
                        for _ in range(rounds):
                            api_times += await api_pages(http, filters)
                            sql_times += await sql_pages(session, principal, filters)
                    api, sql = latency_ms(api_times), latency_ms(sql_times)
                    results[f"{role}:{name}"] = {
                        "api": api,
                        "sql": sql,
                        "api_vs_sql_p99": round(api["p99_ms"] / sql["p99_ms"], 1),
                        "plan": plan,
                    }
    worst = max(r["api"]["p99_ms"] for r in results.values())
    return {"rows": ROWS, "page_size": LIMIT, "worst_api_p99_ms": worst, "queries": results}


if __name__ == "__main__":
    run_alone("reads", bench)
