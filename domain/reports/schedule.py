"""Scheduled reports: cadences, the period a run covers, and the Temporal calendar they fire on."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel


class Cadence(StrEnum):
    WEEKLY = "weekly"  # Mondays 09:00 local: the previous Monday–Sunday
    MONTHLY = "monthly"  # the 1st, 09:00 local: the previous calendar month


class FileFormat(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"


FIRE_HOUR = 9
# A run missed while the scheduler was down still starts if it is less than this late.
CATCHUP_WINDOW = timedelta(days=1)


class Period(BaseModel):
    start: date  # first day
    end: date  # last day, inclusive


def previous_period(cadence: Cadence, local_day: date) -> Period:
    """The full week (Monday–Sunday) or month before the one containing `local_day`."""
    if cadence is Cadence.WEEKLY:
        monday = local_day - timedelta(days=local_day.weekday())
        return Period(start=monday - timedelta(days=7), end=monday - timedelta(days=1))
    first = local_day.replace(day=1)
    last = first - timedelta(days=1)
    return Period(start=last.replace(day=1), end=last)


def run_filename(name: str, period: Period, fmt: FileFormat) -> str:
    """A file name safe on every OS: the schedule's name, the period and the extension."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_") or "report"
    return f"{safe[:80]}-{period.start.isoformat()}-{period.end.isoformat()}.{fmt.value}"
