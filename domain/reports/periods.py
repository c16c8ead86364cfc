"""Calendar periods of a report window, in the report's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.reports.filters import FilterError, Granularity, ReportFilters

MAX_PERIODS = 1000


@dataclass(frozen=True)
class Period:
    label: str  # the local first day, YYYY-MM-DD
    start: datetime  # clipped to the window
    end: datetime


def _floor(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())  # weeks start on Monday
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def _next(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return day + timedelta(days=7)
    if granularity is Granularity.MONTH:
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def periods(filters: ReportFilters) -> list[Period]:
    """Every period touching [start, end), each clipped to the window; at most MAX_PERIODS."""
    tz = ZoneInfo(filters.timezone)
    first = _floor(filters.start.astimezone(tz).date(), filters.granularity)
    out: list[Period] = []
    day = first
    while True:
        begin = datetime.combine(day, time(), tz)
        if begin >= filters.end:
            break
        following = _next(day, filters.granularity)
        finish = datetime.combine(following, time(), tz)
        out.append(Period(day.isoformat(), max(begin, filters.start), min(finish, filters.end)))
        day = following
        if len(out) > MAX_PERIODS:
            raise FilterError("granularity", f"granularity: more than {MAX_PERIODS} periods")
    return out
