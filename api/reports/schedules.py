"""POST/GET/DELETE /report-schedules, GET /report-runs and a run's file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy import select

from api.deps import CurrentUser, ManagerOrAdmin, SessionDep, SettingsDep, TemporalDep
from api.reports.endpoints import disposition, viewer_of
from api.reports.schedule_schemas import RunOut, ScheduleCreate, ScheduleOut
from core.errors import Invalid, NotFound
from domain.reports.definitions import REPORTS
from domain.reports.filters import FilterError, zone
from models import Department, ReportSchedule, User
from services.reports import schedules as service

router = APIRouter(tags=["reports"])


async def _validate(session: SessionDep, body: ScheduleCreate) -> None:
    for i, name in enumerate(body.reports):
        if name not in REPORTS:
            raise Invalid(f"body.reports.{i}", f"unknown report {name!r}")
    try:
        zone(body.timezone)
    except FilterError as exc:
        raise Invalid("body.timezone", str(exc)) from exc
    active = set(
        await session.scalars(select(User.id).where(User.id.in_(body.recipients), User.is_active))
    )
    for i, user_id in enumerate(body.recipients):
        if user_id not in active:
            raise Invalid(f"body.recipients.{i}", f"no active user {user_id}")


async def _out(client: TemporalDep, row: ReportSchedule) -> ScheduleOut:
    out = ScheduleOut.model_validate(row)
    out.schedule_id = service.temporal_id(row.id)
    out.next_run_at = await service.next_run_at(client, row.id)
    return out


@router.post("/report-schedules", status_code=status.HTTP_201_CREATED, response_model=ScheduleOut)
async def create_schedule(
    body: ScheduleCreate,
    caller: ManagerOrAdmin,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> ScheduleOut:
    """A weekly (Monday 09:00) or monthly (1st, 09:00) report in its time zone."""
    await _validate(session, body)
    department_id = body.department_id
    if caller.role != "admin":
        if department_id not in (None, caller.department_id):
            raise NotFound("department not found")
        department_id = caller.department_id
    elif department_id is not None and await session.get(Department, department_id) is None:
        raise Invalid("body.department_id", f"no department {department_id}")
    if idempotency_key:
        existing = await session.scalar(
            select(ReportSchedule).where(ReportSchedule.idempotency_key == idempotency_key)
        )
        if existing is not None:
            await service.ensure_schedule(client, existing, settings.temporal_task_queue)
            response.status_code = status.HTTP_200_OK
            return await _out(client, existing)
    row = ReportSchedule(
        name=body.name,
        reports=list(dict.fromkeys(body.reports)),
        cadence=body.cadence.value,
        department_id=department_id,
        recipients=list(dict.fromkeys(body.recipients)),
        format=body.format.value,
        timezone=body.timezone,
        created_by=caller.user_id,
        idempotency_key=idempotency_key,
    )
    session.add(row)
    await session.flush()
    await service.ensure_schedule(client, row, settings.temporal_task_queue)
    await session.commit()
    return await _out(client, row)


@router.get("/report-schedules", response_model=list[ScheduleOut])
async def list_schedules(
    caller: ManagerOrAdmin, session: SessionDep, client: TemporalDep
) -> list[ScheduleOut]:
    """Schedules in the caller's scope."""
    rows = await service.schedules_for(session, viewer_of(caller))
    return [await _out(client, row) for row in rows]


@router.delete("/report-schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(
    schedule_id: int, caller: ManagerOrAdmin, session: SessionDep, client: TemporalDep
) -> Response:
    """Stop the Temporal Schedule and remove the schedule with its runs."""
    row = await service.schedule_for(session, viewer_of(caller), schedule_id)
    if row is None:
        raise NotFound(f"report schedule {schedule_id} not found")
    await service.remove_schedule(client, schedule_id)
    await session.delete(row)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/report-runs", response_model=list[RunOut])
async def list_runs(
    caller: ManagerOrAdmin,
    session: SessionDep,
    schedule_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[RunOut]:
    """Runs of the caller's schedules, newest period first."""
    rows = await service.runs_for(session, viewer_of(caller), schedule_id)
    return [RunOut.model_validate(r) for r in rows]


@router.get("/report-runs/{run_id}/file")
async def run_file(run_id: int, caller: CurrentUser, session: SessionDep) -> Response:
    """The stored file, for the schedule's recipients, its department's managers and admins."""
    run = await service.run_file(session, viewer_of(caller), run_id)
    if run is None:
        raise NotFound(f"report run {run_id} not found")
    return Response(
        run.content,
        media_type=run.content_type or "application/octet-stream",
        headers=disposition(run.filename or f"report-run-{run.id}"),
    )
