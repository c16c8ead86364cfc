"""SLA policy and business calendar bodies (API.md "Policies, calendars, routing")."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schema_rules import (
    INT4_MAX,
    TIMEZONES,
    escalation_steps_schema,
    every_priority,
    holidays_schema,
    positive_duration,
    working_hours_schema,
)
from domain.sla import EscalationStep, Priority

# Path ids: `integer` columns, so larger numbers are refused by the schema, not by Postgres.
PolicyId = Annotated[int, Path(ge=1, le=INT4_MAX)]
CalendarId = Annotated[int, Path(ge=1, le=INT4_MAX)]

_STRICT = ConfigDict(extra="forbid")


_TARGET = positive_duration("ISO 8601, positive, at most a year, e.g. PT2H")


class TargetIn(BaseModel):
    model_config = _STRICT
    first_response: timedelta = Field(json_schema_extra=_TARGET)
    resolution: timedelta = Field(json_schema_extra=_TARGET)

    @field_validator("first_response", "resolution")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value > timedelta(days=365):
            raise ValueError("must be a positive duration of at most a year, e.g. PT2H or PT5S")
        return value


class RevisitIn(BaseModel):
    model_config = _STRICT
    confirm_within: timedelta = Field(
        timedelta(days=3), json_schema_extra=positive_duration("ISO 8601, positive, e.g. P3D")
    )


class ScopeIn(BaseModel):
    model_config = _STRICT
    categories: list[str] = Field(default_factory=list, max_length=100)
    departments: list[Annotated[int, Field(ge=1, le=INT4_MAX)]] = Field(
        default_factory=list, max_length=100
    )
    # Customer tiers (core | potential | ordinary) of the ticket's customer.
    tiers: list[Literal["core", "potential", "ordinary"]] = Field(
        default_factory=list, max_length=3
    )


class PolicyBody(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=120)
    calendar_id: int | None = Field(None, ge=1, le=INT4_MAX)
    targets: dict[Priority, TargetIn] = Field(json_schema_extra=every_priority)
    warn_at: float = Field(0.8, gt=0, lt=1)
    escalation: list[EscalationStep] = Field(
        default_factory=list, max_length=20, json_schema_extra=escalation_steps_schema
    )
    tracking: dict[
        Priority,
        Annotated[
            timedelta, Field(json_schema_extra=positive_duration("ISO 8601 cadence, e.g. P3D"))
        ],
    ] = Field(json_schema_extra=every_priority)
    revisit: RevisitIn = Field(default_factory=RevisitIn)
    scope: ScopeIn | None = None
    is_default: bool = False

    @field_validator("targets", "tracking")
    @classmethod
    def _every_priority(cls, value: dict[Priority, Any]) -> dict[Priority, Any]:
        missing = [p.value for p in Priority if p not in value]
        if missing:
            raise ValueError(f"missing priorities: {', '.join(missing)}")
        return value


class PolicyOut(BaseModel):
    id: int
    name: str
    version: int
    calendar_id: int
    targets: dict[str, Any]
    warn_at: float
    escalation: list[dict[str, Any]]
    tracking: dict[str, Any]
    revisit: dict[str, Any]
    scope: dict[str, Any]
    is_default: bool
    created_at: datetime


class CalendarBody(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(
        min_length=1, max_length=64, json_schema_extra={"enum": TIMEZONES}
    )  # IANA names
    working_hours: Literal["24x7"] | dict[str, list[tuple[str, str]]] = Field(
        json_schema_extra=working_hours_schema
    )
    holidays: str | list[date] = Field("none", json_schema_extra=holidays_schema)
    extra_workdays: list[date] = Field(default_factory=list, max_length=400)


class CalendarOut(BaseModel):
    id: int
    version: int
    name: str
    timezone: str
    working_hours: Any
    holidays: Any
    extra_workdays: list[str]
    provisional_years: list[int]
    created_at: datetime


class CalendarVersionOut(BaseModel):
    version: int
    created_at: datetime
    created_by: int | None
    body: dict[str, Any]


class DueOut(BaseModel):
    due_at: datetime
    calendar_id: int
    version: int
    # The answer uses holiday data that is a fallback guess for that year.
    provisional: bool
