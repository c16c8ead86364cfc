"""Report filters: parsed once, validated with the offending field named, turned into a window."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.sla import Priority
from domain.tickets import Channel


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


class FilterError(ValueError):
    """A filter value that cannot be used; `field` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class ReportFilters:
    """The window [start, end) in UTC plus the dimension filters every report accepts."""

    start: datetime
    end: datetime
    timezone: str
    granularity: Granularity = Granularity.DAY
    department_id: int | None = None
    category: str | None = None
    channel: str | None = None
    priority: str | None = None
    tag: str | None = None
    owner_id: int | None = None
    limit: int = 20
    extra: dict[str, Any] = field(default_factory=dict)

    def echo(self) -> dict[str, Any]:
        """The filters as the JSON answer repeats them (and a drill-down query reuses them)."""
        out: dict[str, Any] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "timezone": self.timezone,
            "granularity": self.granularity.value,
        }
        for key in ("department_id", "category", "channel", "priority", "tag", "owner_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def parse_bound(raw: str, tz: ZoneInfo, name: str, *, end: bool) -> datetime:
    """A date (local midnight; an end date is inclusive) or an RFC 3339 instant."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tz)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FilterError(name, f"{name}: expected a date or an RFC 3339 time") from exc
    if value.tzinfo is None:
        raise FilterError(name, f"{name}: an RFC 3339 time needs an offset")
    return value


def zone(name: str, field_name: str = "timezone") -> ZoneInfo:
    """The IANA zone, or a FilterError naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FilterError(field_name, f"{field_name}: unknown time zone {name!r}") from exc


def build_filters(
    params: dict[str, str | None], today: date, default_timezone: str
) -> ReportFilters:
    """Filters from query strings; the default window is the 30 days up to and including today."""
    tz_name = params.get("timezone") or default_timezone
    tz = zone(tz_name)
    raw_from, raw_to = params.get("from"), params.get("to")
    end = (
        parse_bound(raw_to, tz, "to", end=True)
        if raw_to
        else datetime.combine(today + timedelta(days=1), time(), tz)
    )
    start = parse_bound(raw_from, tz, "from", end=False) if raw_from else end - timedelta(days=30)
    if start >= end:
        raise FilterError("from", "from: must be before to")
    if end - start > timedelta(days=3660):
        raise FilterError("from", "from: the window may span at most ten years")
    gran_raw = params.get("granularity") or "day"
    try:
        granularity = Granularity(gran_raw)
    except ValueError as exc:
        raise FilterError("granularity", "granularity: one of day, week, month") from exc
    ints: dict[str, int | None] = {}
    for key in ("department_id", "owner_id", "limit"):
        raw = params.get(key)
        if raw is None or raw == "":
            ints[key] = None
            continue
        if not raw.isdigit() or int(raw) < 1 or int(raw) > 2_147_483_647:
            raise FilterError(key, f"{key}: a positive integer")
        ints[key] = int(raw)
    limit = ints["limit"] or 20
    if limit > 1000:
        raise FilterError("limit", "limit: at most 1000")
    texts: dict[str, str | None] = {}
    for key in ("category", "channel", "priority", "tag"):
        value = params.get(key)
        if value is not None and (len(value) > 64 or "\x00" in value or not value.strip()):
            raise FilterError(key, f"{key}: 1 to 64 characters")
        texts[key] = value
    allowed = {"priority": {p.value for p in Priority}, "channel": {c.value for c in Channel}}
    for key, values in allowed.items():
        if texts[key] is not None and texts[key] not in values:
            raise FilterError(key, f"{key}: one of {', '.join(sorted(values))}")
    return ReportFilters(
        start=start,
        end=end,
        timezone=tz_name,
        granularity=granularity,
        department_id=ints["department_id"],
        category=texts["category"],
        channel=texts["channel"],
        priority=texts["priority"],
        tag=texts["tag"],
        owner_id=ints["owner_id"],
        limit=limit,
    )
