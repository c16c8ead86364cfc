"""Business calendar arithmetic: working time between instants, across DST and holidays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator, model_validator


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


# Index matches date.weekday(): 0 = Monday.
WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)
# An interval ending at 00:00 runs to the end of the day (24:00 has no `time` value).
END_OF_DAY = time(0)
# add_business_time gives up after this many consecutive days without any working time.
MAX_IDLE_DAYS = 3 * 366

Span = tuple[datetime, datetime]


def _seconds(t: time, *, end: bool = False) -> float:
    """Seconds since midnight; an end of 00:00 means 24:00."""
    if end and t == END_OF_DAY:
        return 86400.0
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


class CalendarSpec(BaseModel):
    """Concrete, deterministic calendar data; safe to keep in workflow state."""

    model_config = ConfigDict(frozen=True)

    name: str
    timezone: str
    # None = 24x7 (every day, all day, still minus holidays).
    working_hours: dict[Weekday, list[tuple[time, time]]] | None = None
    holidays: frozenset[date] = frozenset()
    # Make-up workdays use the hours of the first weekday (mon..sun) that has any.
    extra_workdays: frozenset[date] = frozenset()
    # Years whose holiday data is a fallback guess; shown as provisional in the API.
    provisional_years: frozenset[int] = frozenset()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"timezone: unknown IANA timezone {value!r}") from exc
        return value

    @field_validator("working_hours")
    @classmethod
    def _sane_hours(
        cls, value: dict[Weekday, list[tuple[time, time]]] | None
    ) -> dict[Weekday, list[tuple[time, time]]] | None:
        if value is None:
            return None
        out: dict[Weekday, list[tuple[time, time]]] = {}
        for day in WEEKDAYS:
            spans = sorted(value.get(day, []), key=lambda s: _seconds(s[0]))
            previous_end = 0.0
            for start, end in spans:
                where = f"working_hours.{day.value}"
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"{where}: times must not carry a timezone")
                if _seconds(end, end=True) <= _seconds(start):
                    raise ValueError(f"{where}: end {end} must be after start {start}")
                if _seconds(start) < previous_end:
                    raise ValueError(f"{where}: intervals overlap at {start}")
                previous_end = _seconds(end, end=True)
            if spans:
                out[day] = spans
        return out

    @model_validator(mode="after")
    def _disjoint_days(self) -> CalendarSpec:
        both = self.holidays & self.extra_workdays
        if both:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"holidays and extra_workdays both list {days}")
        return self

    @field_serializer("holidays", "extra_workdays", "provisional_years")
    def _sorted(self, value: frozenset[Any]) -> list[Any]:
        # Sorted output keeps payloads byte-stable (set order depends on the hash seed).
        return sorted(value)


def _require_aware(value: datetime, name: str) -> datetime:
    """The instant in UTC; naive datetimes are rejected rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)


def _always_on(cal: CalendarSpec) -> bool:
    return cal.working_hours is None and not cal.holidays


def _hours_on(cal: CalendarSpec, day: date) -> list[tuple[time, time]]:
    if day in cal.holidays:
        return []
    if cal.working_hours is None:
        return [(time(0), END_OF_DAY)]
    if day in cal.extra_workdays:
        return next((cal.working_hours[d] for d in WEEKDAYS if cal.working_hours.get(d)), [])
    return cal.working_hours.get(WEEKDAYS[day.weekday()], [])


def _days(cal: CalendarSpec, first: date) -> Iterator[tuple[date, list[Span]]]:
    """Each local date from `first` on, with its working spans in UTC, ordered, disjoint."""
    tz = ZoneInfo(cal.timezone)
    day, last_end = first, datetime.min.replace(tzinfo=UTC)
    while True:
        spans: list[Span] = []
        for start, end in _hours_on(cal, day):
            end_day = day + timedelta(days=1) if end == END_OF_DAY else day
            a = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
            b = datetime.combine(end_day, end, tzinfo=tz).astimezone(UTC)
            # Wall times inside a DST gap map out of order; clip so no instant counts twice.
            a = max(a, last_end)
            if b > a:
                spans.append((a, b))
                last_end = b
        yield day, spans
        day += timedelta(days=1)


def _local_date(cal: CalendarSpec, at: datetime) -> date:
    return at.astimezone(ZoneInfo(cal.timezone)).date()


def add_business_time(cal: CalendarSpec, start: datetime, duration: timedelta) -> datetime:
    """The earliest instant (UTC) by which `duration` of working time has elapsed after `start`."""
    begin = _require_aware(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if not duration:
        return begin
    if _always_on(cal):
        return begin + duration
    left, idle_days = duration, 0
    # Start a day early: yesterday's spans may run past local midnight in odd DST zones.
    for _day, spans in _days(cal, _local_date(cal, begin) - timedelta(days=1)):
        worked = False
        for a, b in spans:
            if b <= begin:
                continue
            a = max(a, begin)
            if b - a >= left:
                return a + left
            left -= b - a
            worked = True
        idle_days = 0 if worked else idle_days + 1
        if idle_days > MAX_IDLE_DAYS:
            since = begin.isoformat()
            raise ValueError(f"calendar {cal.name!r} has no working time in 3 years after {since}")
    raise AssertionError("unreachable")  # pragma: no cover


def business_time_between(cal: CalendarSpec, start: datetime, end: datetime) -> timedelta:
    """Working time in [start, end); zero when end <= start."""
    begin, finish = _require_aware(start, "start"), _require_aware(end, "end")
    if finish <= begin:
        return timedelta(0)
    if _always_on(cal):
        return finish - begin
    total, last_day = timedelta(0), _local_date(cal, finish) + timedelta(days=1)
    for day, spans in _days(cal, _local_date(cal, begin) - timedelta(days=1)):
        for a, b in spans:
            lo, hi = max(a, begin), min(b, finish)
            if hi > lo:
                total += hi - lo
        if day >= last_day:
            return total
    raise AssertionError("unreachable")  # pragma: no cover


def is_working_time(cal: CalendarSpec, at: datetime) -> bool:
    """Whether the instant `at` falls inside working hours."""
    moment = _require_aware(at, "at")
    if _always_on(cal):
        return True
    days = islice(_days(cal, _local_date(cal, moment) - timedelta(days=1)), 3)
    return any(a <= moment < b for _day, spans in days for a, b in spans)
