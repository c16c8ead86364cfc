"""Bodies of /report-schedules and /report-runs."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.reports.schedule import Cadence, FileFormat


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    reports: list[str] = Field(min_length=1, max_length=10)
    cadence: Cadence
    department_id: int | None = Field(None, ge=1, le=2_147_483_647)
    recipients: list[int] = Field(min_length=1, max_length=50)
    format: FileFormat
    timezone: str = Field("Asia/Shanghai", min_length=1, max_length=64)


class ScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    reports: list[str]
    cadence: Cadence
    department_id: int | None
    recipients: list[int]
    format: FileFormat
    timezone: str
    created_at: datetime
    schedule_id: str = ""  # the Temporal Schedule's id
    next_run_at: datetime | None = None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    schedule_id: int
    period_start: date
    period_end: date
    status: str
    filename: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    created_at: datetime
    finished_at: datetime | None
