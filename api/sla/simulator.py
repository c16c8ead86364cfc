"""The what-if simulator: stream stored ticket facts, run both policies in a process pool."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.sla_binding import calendar_from_row, policy_from_body
from api.deps import Principal
from api.sla.admin_schemas import SimulateBody, SimulateOut
from api.sla.errors import invalid_from
from core.errors import Invalid, NotFound
from domain.policy_admin import check_ladder, check_targets
from domain.sla_simulation import TARGETS, Row, Tally, simulate_chunk
from models import BusinessCalendar, Ticket

CHUNK = 2000
_POOL: ProcessPoolExecutor | None = None
# The binding a ticket got is fixed by these (calendar data covers its creation year on).
_YEAR = func.extract("year", func.timezone("UTC", Ticket.created_at)).cast(Integer)


def process_pool() -> ProcessPoolExecutor:
    """One pool per API process, a worker per core; spawned, so no inherited loop or sockets."""
    global _POOL
    if _POOL is None:
        _POOL = ProcessPoolExecutor(
            max_workers=os.cpu_count() or 2, mp_context=get_context("spawn")
        )
    return _POOL


def _filters(body: SimulateBody, caller: Principal) -> list[ColumnElement[bool]]:
    where = [Ticket.created_at >= body.since, Ticket.created_at < body.until]
    department_id = body.department_id
    if caller.role == "manager":
        if department_id is not None and department_id != caller.department_id:
            raise NotFound(f"department {department_id} not found")
        department_id = caller.department_id
    if department_id is not None:
        where.append(Ticket.department_id == department_id)
    if body.category is not None:
        where.append(Ticket.category == body.category)
    if body.priority is not None:
        where.append(Ticket.priority == body.priority.value)
    where.append(Ticket.sla_binding.is_not(None))
    return where


def _key(policy_id: Any, version: Any, calendar_version: Any, year: Any) -> str:
    return f"{policy_id}:{version}:{calendar_version}:{year}"


async def _candidate(session: AsyncSession, body: SimulateBody) -> tuple[str, str | None]:
    """The candidate policy (and its calendar, if it names one) as JSON, validated."""
    policy = body.policy
    try:
        check_targets({p: (t.first_response, t.resolution) for p, t in policy.targets.items()})
        check_ladder(policy.escalation)
        stored = policy.model_dump(mode="json")
        candidate = policy_from_body(0, 0, policy.name, stored)
    except ValueError as exc:
        raise invalid_from(exc, "body.policy") from exc
    calendar_json = None
    if policy.calendar_id is not None:
        row = await session.get(BusinessCalendar, policy.calendar_id)
        if row is None:
            raise Invalid(
                "body.policy.calendar_id", f"calendar {policy.calendar_id} does not exist"
            )
        years = range(body.since.year - 1, body.until.year + 2)
        calendar_json = calendar_from_row(row, years).model_dump_json()
    return candidate.model_dump_json(), calendar_json


async def simulate(
    session: AsyncSession, body: SimulateBody, caller: Principal, now: datetime
) -> SimulateOut:
    """Breaches under each ticket's bound version vs the candidate, counted and listed."""
    started = time.perf_counter()
    candidate, candidate_calendar = await _candidate(session, body)
    where = _filters(body, caller)
    bindings: dict[str, tuple[str, str]] = {}
    # One ticket per distinct binding: its stored policy and calendar stand for all of them.
    samples = (
        select(func.min(Ticket.id))
        .where(*where)
        .group_by(Ticket.policy_id, Ticket.policy_version, Ticket.calendar_version, _YEAR)
    )
    found = await session.execute(
        select(
            Ticket.policy_id,
            Ticket.policy_version,
            Ticket.calendar_version,
            _YEAR,
            Ticket.sla_binding,
        ).where(Ticket.id.in_(samples.scalar_subquery()))
    )
    for p, v, c, y, binding in found:
        bindings[_key(p, v, c, y)] = (
            json.dumps(binding["policy"]),
            json.dumps(binding["calendar"]),
        )
    stream = await session.stream(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.priority,
            Ticket.department_id,
            Ticket.policy_id,
            Ticket.policy_version,
            Ticket.calendar_version,
            _YEAR,
            # As text: JSON is parsed in the pool's processes, not on the event loop.
            cast(Ticket.sla_events, Text),
        )
        .where(*where)
        .execution_options(yield_per=CHUNK)
    )
    loop, pool = asyncio.get_running_loop(), process_pool()
    pending: list[asyncio.Future[Tally]] = []
    async for part in stream.partitions(CHUNK):
        rows: list[Row] = [
            (r[0], r[1], r[2], r[3], _key(r[4], r[5], r[6], r[7]), r[8]) for r in part
        ]
        pending.append(
            loop.run_in_executor(
                pool, simulate_chunk, candidate, candidate_calendar, bindings, rows, now
            )
        )
    total = Tally()
    for tally in await asyncio.gather(*pending):
        total.merge(tally)
    return _out(total, int((time.perf_counter() - started) * 1000))


def _out(tally: Tally, elapsed_ms: int) -> SimulateOut:
    departments = tally.breaches(1)
    by_department: Sequence[dict[str, Any]] = [
        {"department_id": dept, **departments[dept]}
        for dept in sorted(departments, key=lambda d: d or 0)
    ]
    return SimulateOut.model_validate(
        {
            "evaluated": tally.evaluated,
            "summary": {
                target: tally.breaches().get(None, {}).get(target, zero)
                for target in TARGETS
                for zero in [{"breached_now": 0, "breached_candidate": 0}]
            },
            "by_priority": tally.breaches(0),
            "by_department": list(by_department),
            "changed": tally.changed,
            "changed_truncated": tally.changed_total > len(tally.changed),
            "elapsed_ms": elapsed_ms,
        }
    )
