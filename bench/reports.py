"""Reports: p50/p99 of every report and export over COPY-generated tickets and customers.

`python -m bench.reports`. CI-light: 100k tickets / 10k customers; BENCH_FULL=1 (or
REPORT_BENCH_TICKETS=...): 1M tickets / 100k customers. Tickets, their report facts,
customers, orders and interactions are written with COPY over one year. Each report runs
through the HTTP API as an admin (all departments) and a department manager, for the last
30 days and (monthly) the whole year; the baseline is a bare `count(*)` of the same window on
the facts table, timed in the same run. The ticket-list CSV export streams every ticket of
the year: rows/s and the process's peak RSS (API server and client share the process).
Writes bench/results/reports.json.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
from sqlalchemy import text

from bench.common import Stack, latency_ms, load_average, rss_mb, run_alone, unique_label
from bench.report_data import DEPARTMENTS, seed, sizes
from domain.reports.definitions import REPORTS

SCENARIOS: dict[str, dict[str, Any]] = {
    "30d": {},
    "year-monthly": {"granularity": "month"},
}


async def _window(days: int) -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}


async def timed_get(http: Any, url: str, params: dict[str, Any], rounds: int) -> list[float]:
    (await http.get(url, params=params)).raise_for_status()  # warm-up, not timed
    out = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = await http.get(url, params=params)
        _ = response.content
        out.append(time.perf_counter() - began)
        response.raise_for_status()
    return out


async def baseline(stack: Stack, params: dict[str, Any], rounds: int) -> list[float]:
    """A bare count of the window's facts rows (same index, no grouping)."""
    sql = "SELECT count(*) FROM ticket_report_facts WHERE created_at >= :a AND created_at < :b"
    bind: dict[str, Any] = {
        "a": datetime.fromisoformat(params["from"]).replace(tzinfo=UTC),
        "b": datetime.fromisoformat(params["to"]).replace(tzinfo=UTC) + timedelta(days=1),
    }
    if "department_id" in params:
        sql += " AND department_id = :d"
        bind["d"] = params["department_id"]
    out = []
    async with stack.engine.connect() as conn:
        for _ in range(rounds):
            began = time.perf_counter()
            await conn.execute(text(sql), bind)
            out.append(time.perf_counter() - began)
    return out


async def csv_stream(stack: Stack, http: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Stream every ticket of the window as CSV; rows/s and the process's peak RSS."""
    before = rss_mb()
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        proc = psutil.Process()
        while not done.is_set():
            peak = max(peak, round(proc.memory_info().rss / 2**20, 1))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    rows = 0
    began = time.perf_counter()
    async with http.stream(
        "GET", "/api/v1/report-drilldown/tickets", params={**params, "format": "csv"}
    ) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - began
    done.set()
    await sampler
    return {
        "rows": rows - 1,
        "seconds": round(seconds, 2),
        "rows_per_second": round((rows - 1) / seconds),
        "rss_before_mb": before,
        "rss_peak_mb": peak,
    }


async def bench(stack: Stack) -> dict[str, Any]:
    n_tickets, n_customers = sizes(stack.full)
    rounds = 20 if stack.full else 8
    async with stack.http(headers=stack.admin_headers) as admin:
        depts = []
        for _ in range(DEPARTMENTS):
            code = unique_label("rpt")
            made = await admin.post("/api/v1/departments", json={"code": code, "name": code})
            made.raise_for_status()
            depts.append(int(made.json()["id"]))
        email = f"{unique_label('rptmgr')}@example.com"
        user = {"email": email, "name": "m", "password": "password-123", "role": "manager"}
        (
            await admin.post("/api/v1/users", json={**user, "department_id": depts[0]})
        ).raise_for_status()
        began = time.perf_counter()
        await seed(stack, depts, n_tickets, n_customers)
        seed_seconds = round(time.perf_counter() - began, 1)
        async with stack.http() as anon:
            form = {"username": email, "password": "password-123"}
            token = (await anon.post("/api/v1/auth/token", data=form)).json()["access_token"]
        results: dict[str, Any] = {}
        month, year = await _window(30), await _window(365)
        async with stack.http(headers={"Authorization": f"Bearer {token}"}) as mgr:
            for role, http in (("admin", admin), ("manager", mgr)):
                for scenario, extra in SCENARIOS.items():
                    params = {**(month if scenario == "30d" else year), **extra}
                    base = latency_ms(
                        await baseline(
                            stack,
                            {
                                **params,
                                **({"department_id": depts[0]} if role == "manager" else {}),
                            },
                            rounds,
                        )
                    )
                    for name in REPORTS:
                        times = await timed_get(http, f"/api/v1/reports/{name}", params, rounds)
                        figures = latency_ms(times)
                        results[f"{role}:{scenario}:{name}"] = {
                            **figures,
                            "vs_count_p99": round(figures["p99_ms"] / max(base["p99_ms"], 0.01), 1),
                        }
                    results[f"{role}:{scenario}:baseline_count"] = base
            exports: dict[str, Any] = {}
            for name in ("feedback-types", "processing-time", "csat-trend", "kpis"):
                for fmt in ("csv", "xlsx", "pdf"):
                    params = {**year, "granularity": "month", "format": fmt}
                    times = await timed_get(admin, f"/api/v1/reports/{name}", params, rounds)
                    exports[f"{name}:{fmt}"] = latency_ms(times)
            stream = await csv_stream(stack, admin, year)
    worst = max(v["p99_ms"] for k, v in results.items() if not k.endswith("baseline_count"))
    return {
        "tickets": n_tickets,
        "customers": n_customers,
        "rounds": rounds,
        "seed_seconds": seed_seconds,
        "load_average": load_average(),
        "worst_report_p99_ms": worst,
        "reports": results,
        "exports": exports,
        "ticket_csv_stream": stream,
    }


if __name__ == "__main__":
    run_alone("reports", bench)
