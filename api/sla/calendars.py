"""Business calendars with versions, and the clock's due time for admins checking one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from activities.sla_binding import calendar_from_body
from api.audit.admin_log import record_audit
from api.deps import AdminUser, ManagerOrAdmin, SessionDep
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from api.sla.errors import invalid_from
from api.sla.schemas import CalendarBody, CalendarId, CalendarOut, CalendarVersionOut, DueOut
from core.errors import Conflict, Invalid, NotFound
from domain.calendar import CalendarSpec, add_business_time
from domain.policy_admin import diff
from models import BusinessCalendar, CalendarVersion

router = APIRouter(tags=["sla"])


def _body(row: BusinessCalendar) -> dict[str, Any]:
    return {
        "name": row.name,
        "timezone": row.timezone,
        "working_hours": row.working_hours,
        "holidays": row.holidays,
        "extra_workdays": list(row.extra_workdays or []),
    }


def _spec(body: dict[str, Any], years: range) -> CalendarSpec:
    try:
        return calendar_from_body(body, years)
    except ValueError as exc:
        raise invalid_from(exc) from exc


def _calendar_out(row: BusinessCalendar) -> CalendarOut:
    year = datetime.now(UTC).year
    spec = _spec(_body(row), range(year, year + 2))
    return CalendarOut(
        id=row.id,
        version=row.current_version,
        provisional_years=sorted(spec.provisional_years),
        created_at=row.created_at,
        **_body(row),
    )


async def _get(session: SessionDep, calendar_id: int) -> BusinessCalendar:
    row = await session.get(BusinessCalendar, calendar_id)
    if row is None:
        raise NotFound(f"calendar {calendar_id} not found")
    return row


@router.post("/calendars", status_code=status.HTTP_201_CREATED, response_model=CalendarOut)
async def create_calendar(
    body: CalendarBody, caller: AdminUser, session: SessionDep
) -> CalendarOut:
    """A business calendar: timezone, working hours (or 24x7), holidays, make-up workdays."""
    dumped = body.model_dump(mode="json")
    year = datetime.now(UTC).year
    _spec(dumped, range(year, year + 2))
    row = BusinessCalendar(
        name=body.name,
        timezone=body.timezone,
        working_hours=dumped["working_hours"],
        holidays=dumped["holidays"],
        extra_workdays=dumped["extra_workdays"],
        current_version=1,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a calendar named {body.name!r} already exists") from exc
    session.add(
        CalendarVersion(calendar_id=row.id, version=1, body=dumped, created_by=caller.user_id)
    )
    data = {"name": body.name, "timezone": body.timezone, "version": 1}
    await record_audit(session, caller, "calendar.create", "calendar", row.id, data)
    await session.commit()
    return _calendar_out(row)


@router.put("/calendars/{calendar_id}", response_model=CalendarOut)
async def new_calendar_version(
    calendar_id: CalendarId, body: CalendarBody, caller: AdminUser, session: SessionDep
) -> CalendarOut:
    """Save version n+1; open tickets keep the version they bound until a rollout moves them."""
    row = await _get(session, calendar_id)
    dumped = body.model_dump(mode="json")
    year = datetime.now(UTC).year
    _spec(dumped, range(year, year + 2))
    changes = [c.as_json() for c in diff(_body(row), dumped)]
    row.name, row.timezone = body.name, body.timezone
    row.working_hours, row.holidays = dumped["working_hours"], dumped["holidays"]
    row.extra_workdays = dumped["extra_workdays"]
    row.current_version += 1
    session.add(
        CalendarVersion(
            calendar_id=row.id, version=row.current_version, body=dumped, created_by=caller.user_id
        )
    )
    data = {"version": row.current_version, "changes": changes}
    await record_audit(session, caller, "calendar.new_version", "calendar", row.id, data)
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Conflict("the calendar changed concurrently or the name is taken") from exc
    return _calendar_out(row)


@router.get("/calendars", response_model=Page[CalendarOut])
async def list_calendars(
    _: ManagerOrAdmin, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[CalendarOut]:
    """All calendars at their current version, with the years whose holidays are provisional."""
    query = select(BusinessCalendar)
    rows, next_cursor = await fetch_page(session, query, BusinessCalendar.id, limit, cursor)
    return Page(items=[_calendar_out(r) for r in rows], next_cursor=next_cursor)


@router.get("/calendars/{calendar_id}", response_model=CalendarOut)
async def get_calendar(
    calendar_id: CalendarId, _: ManagerOrAdmin, session: SessionDep
) -> CalendarOut:
    return _calendar_out(await _get(session, calendar_id))


@router.get("/calendars/{calendar_id}/versions", response_model=Page[CalendarVersionOut])
async def list_calendar_versions(
    calendar_id: CalendarId, _: ManagerOrAdmin, session: SessionDep
) -> Page[CalendarVersionOut]:
    """Every saved version, oldest first."""
    await _get(session, calendar_id)
    rows = await session.scalars(
        select(CalendarVersion)
        .where(CalendarVersion.calendar_id == calendar_id)
        .order_by(CalendarVersion.version)
    )
    items = [
        CalendarVersionOut(
            version=r.version, created_at=r.created_at, created_by=r.created_by, body=r.body
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=None)


@router.get("/calendars/{calendar_id}/due", response_model=DueOut)
async def due_at(
    calendar_id: CalendarId,
    _: ManagerOrAdmin,
    session: SessionDep,
    start: datetime,
    duration: Annotated[timedelta, Query(description="ISO 8601, e.g. PT4H")],
    version: Annotated[int | None, Query(ge=1)] = None,
) -> DueOut:
    """When `duration` of working time after `start` has elapsed, by the domain clock."""
    row = await _get(session, calendar_id)
    if start.tzinfo is None or start.utcoffset() is None:
        raise Invalid("query.start", "start must carry a UTC offset, e.g. 2026-09-30T17:00+08:00")
    if duration <= timedelta(0) or duration > timedelta(days=366):
        raise Invalid("query.duration", "duration must be positive and at most a year")
    number = version or row.current_version
    stored = await session.scalar(
        select(CalendarVersion).where(
            CalendarVersion.calendar_id == calendar_id, CalendarVersion.version == number
        )
    )
    if stored is None:
        raise NotFound(f"calendar {calendar_id} has no version {number}")
    spec = _spec(stored.body, range(start.year, start.year + 3))
    try:
        due = add_business_time(spec, start, duration)
    except ValueError as exc:
        raise Invalid("query.duration", str(exc)) from exc
    return DueOut(
        due_at=due,
        calendar_id=calendar_id,
        version=number,
        provisional=due.year in spec.provisional_years or start.year in spec.provisional_years,
    )
