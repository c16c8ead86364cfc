"""Scheduled reports: rows plus one Temporal Schedule each, and the runs they produced."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from domain.reports.schedule import CATCHUP_WINDOW, FIRE_HOUR, Cadence
from models import ReportRun, ReportSchedule
from services.reports.scope import Viewer
from workflows.report_run import ReportRunInput, ReportRunWorkflow


def temporal_id(schedule_id: int) -> str:
    return f"report-schedule-{schedule_id}"


def report_schedule(row: ReportSchedule, task_queue: str) -> Schedule:
    """Mondays (weekly) or the 1st (monthly) at 09:00 in the row's time zone; overlaps skipped."""
    when: dict[str, Any] = {
        "hour": [ScheduleRange(FIRE_HOUR)],
        "minute": [ScheduleRange(0)],
        "second": [ScheduleRange(0)],
    }
    if Cadence(row.cadence) is Cadence.WEEKLY:
        when["day_of_week"] = [ScheduleRange(1)]  # Temporal counts Sunday as 0
    else:
        when["day_of_month"] = [ScheduleRange(1)]
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReportRunWorkflow.run,
            ReportRunInput(schedule_id=row.id),
            id=f"report-run-{row.id}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(**when, comment=f"report {row.id} {row.cadence}")],
            time_zone_name=row.timezone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
    )


async def ensure_schedule(client: Client, row: ReportSchedule, task_queue: str) -> None:
    """Create the Temporal Schedule unless it exists (a retried create finds it)."""
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(temporal_id(row.id), report_schedule(row, task_queue))


async def next_run_at(client: Client, schedule_id: int) -> datetime | None:
    """When the schedule fires next, as Temporal computes it."""
    try:
        described = await client.get_schedule_handle(temporal_id(schedule_id)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    upcoming = described.info.next_action_times
    return upcoming[0] if upcoming else None


async def remove_schedule(client: Client, schedule_id: int) -> None:
    """Delete the Temporal Schedule; one already gone is fine."""
    try:
        await client.get_schedule_handle(temporal_id(schedule_id)).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


def visible(viewer: Viewer) -> Any:
    """Schedules a viewer may see: admins all, managers their department's."""
    if viewer.role == "admin":
        return None
    return ReportSchedule.department_id == viewer.department_id


async def schedules_for(session: AsyncSession, viewer: Viewer) -> Sequence[ReportSchedule]:
    query = select(ReportSchedule).order_by(ReportSchedule.id)
    condition = visible(viewer)
    if condition is not None:
        query = query.where(condition)
    return list(await session.scalars(query))


async def schedule_for(
    session: AsyncSession, viewer: Viewer, schedule_id: int
) -> ReportSchedule | None:
    row = await session.get(ReportSchedule, schedule_id)
    if row is None or (viewer.role != "admin" and row.department_id != viewer.department_id):
        return None
    return row


async def runs_for(
    session: AsyncSession, viewer: Viewer, schedule_id: int | None
) -> Sequence[ReportRun]:
    """Run metadata, newest period first, within the viewer's schedules."""
    query = (
        select(ReportRun)
        .join(ReportSchedule, ReportSchedule.id == ReportRun.schedule_id)
        .order_by(ReportRun.period_start.desc(), ReportRun.id.desc())
        .limit(500)
    )
    condition = visible(viewer)
    if condition is not None:
        query = query.where(condition)
    if schedule_id is not None:
        query = query.where(ReportRun.schedule_id == schedule_id)
    return list(await session.scalars(query))


async def run_file(session: AsyncSession, viewer: Viewer, run_id: int) -> ReportRun | None:
    """A run's file for managers of its department, admins and the schedule's recipients."""
    run = await session.get(ReportRun, run_id)
    if run is None or run.content is None:
        return None
    schedule = await session.get(ReportSchedule, run.schedule_id)
    if schedule is None:
        return None
    allowed = (
        viewer.role == "admin"
        or viewer.user_id in schedule.recipients
        or (viewer.role == "manager" and schedule.department_id == viewer.department_id)
    )
    return run if allowed else None
