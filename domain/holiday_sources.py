"""Calendar definitions (API shape) to concrete dates; called from activities, never workflows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, time
from typing import Literal, TypeAlias

import chinese_calendar
import holidays as holidays_pkg
from pydantic import ValidationError

from domain.calendar import CalendarSpec, Weekday

CN = "CN"
NO_HOLIDAYS = "none"
# "CN" (statutory days + make-up workdays), "none", another ISO country code, or explicit dates.
HolidaySource: TypeAlias = str | Sequence[date | str]
WorkingHoursInput: TypeAlias = Literal["24x7"] | Mapping[str, Sequence[Sequence[str]]]

_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


def _parse_time(text: str, where: str, *, end: bool) -> time:
    if end and text == "24:00":
        return time(0)  # CalendarSpec reads an end of 00:00 as end of day
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ValueError(f"{where}: bad time {text!r} (use HH:MM)")
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def parse_working_hours(
    value: WorkingHoursInput,
) -> dict[Weekday, list[tuple[time, time]]] | None:
    """API working hours ({"mon": [["09:00", "18:00"]]} or "24x7") to CalendarSpec form."""
    if isinstance(value, str):
        if value != "24x7":
            raise ValueError(f'working_hours: expected "24x7" or a weekday map, got {value!r}')
        return None
    known = {d.value for d in Weekday}
    out: dict[Weekday, list[tuple[time, time]]] = {}
    for key, spans in value.items():
        if key not in known:
            raise ValueError(f"working_hours: unknown weekday {key!r} (use mon..sun)")
        parsed: list[tuple[time, time]] = []
        for i, span in enumerate(spans):
            where = f"working_hours.{key}[{i}]"
            if isinstance(span, str) or len(span) != 2:
                raise ValueError(f'{where}: expected ["HH:MM", "HH:MM"], got {span!r}')
            start = _parse_time(span[0], where, end=False)
            end = _parse_time(span[1], where, end=True)
            if end != time(0) and end <= start:
                raise ValueError(f"{where}: end {span[1]} must be after start {span[0]}")
            parsed.append((start, end))
        out[Weekday(key)] = parsed
    if not any(out.values()):
        raise ValueError("working_hours: no working hours on any day")
    return out


def _dates(values: Iterable[date | str], field: str) -> set[date]:
    """Dates from date objects or ISO strings (the JSON a calendar row stores)."""
    out: set[date] = set()
    for value in values:
        try:
            out.add(value if isinstance(value, date) else date.fromisoformat(value))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{field}: bad date {value!r} (use YYYY-MM-DD)") from exc
    return out


def _country_days(code: str, year: int) -> tuple[set[date], set[date]]:
    """Holidays and weekend make-up workdays the `holidays` package knows for one year."""
    try:
        found = holidays_pkg.country_holidays(code, years=[year])
    except NotImplementedError as exc:
        raise ValueError(f"holidays: unknown holiday source {code!r}") from exc
    off: set[date] = set(found.keys())
    # Only some countries (CN among them) publish make-up weekends; absent means none.
    extra: set[date] = {d for d in getattr(found, "weekend_workdays", ()) if d.year == year}
    return off, extra


def _cn_days(year: int) -> tuple[set[date], set[date], bool]:
    """China: chinese_calendar where it has data, else the `holidays` package (provisional)."""
    try:
        chinese_calendar.is_holiday(date(year, 1, 1))
    except NotImplementedError:
        off, extra = _country_days(CN, year)
        return off, extra, True
    off = {d for d in chinese_calendar.holidays if d.year == year}
    extra = {d for d in chinese_calendar.workdays if d.year == year}
    return off, extra, False


def source_days(source: str, years: Iterable[int]) -> tuple[set[date], set[date], set[int]]:
    """(holidays, make-up workdays, provisional years) of a named source for `years`."""
    name = source.strip()
    if name.lower() == NO_HOLIDAYS:
        return set(), set(), set()
    wanted = sorted(set(years))
    if not wanted:
        raise ValueError(f"years: required for holiday source {name!r}")
    off: set[date] = set()
    extra: set[date] = set()
    provisional: set[int] = set()
    for year in wanted:
        if name.upper() == CN:
            year_off, year_extra, guessed = _cn_days(year)
            if guessed:
                provisional.add(year)
        else:
            year_off, year_extra = _country_days(name.upper(), year)
        off |= year_off
        extra |= year_extra
    return off, extra, provisional


def build_calendar_spec(
    name: str,
    timezone: str,
    working_hours: WorkingHoursInput,
    holidays: HolidaySource,
    extra_workdays: Iterable[date | str] = (),
    years: Iterable[int] = (),
    extra_holidays: Iterable[date | str] = (),
) -> CalendarSpec:
    """Concrete CalendarSpec for `years`; admin-entered dates win over the source's."""
    admin_off = _dates(extra_holidays, "extra_holidays")
    admin_on = _dates(extra_workdays, "extra_workdays")
    if isinstance(holidays, str):
        source_off, source_on, provisional = source_days(holidays, years)
    else:
        source_off, source_on, provisional = set(), set(), set()
        admin_off |= _dates(holidays, "holidays")
    clash = admin_off & admin_on
    if clash:
        days = ", ".join(d.isoformat() for d in sorted(clash))
        raise ValueError(f"extra_workdays: {days} also listed as holidays")
    try:
        return CalendarSpec(
            name=name,
            timezone=timezone,
            working_hours=parse_working_hours(working_hours),
            holidays=frozenset((source_off - admin_on) | admin_off),
            extra_workdays=frozenset((source_on - admin_off) | admin_on),
            provisional_years=frozenset(provisional),
        )
    except ValidationError as exc:
        # Flatten pydantic's report to one line that names the field.
        raise ValueError(
            "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        ) from exc
