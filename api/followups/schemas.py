"""Follow-up plan request and response bodies (the shapes in API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.cadence import (
    DEFAULT_BIRTHDAY_LEAD_DAYS,
    Cadence,
    PlanChannel,
    PlanPriority,
    PlanStatus,
)

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _duration(value: str | None) -> str | None:
    if value is None:
        return None
    Cadence.parse(value)  # ValueError → 422 naming the field
    return value.upper()


class PlanCreate(BaseModel):
    model_config = _STRICT
    customer_id: int = Field(ge=1, lt=2**63)
    owner_id: int | None = Field(None, ge=1, lt=2**31)
    cadence: str | None = Field(None, max_length=32, description='ISO 8601 ("P1M"); null: rule')
    priority: PlanPriority = PlanPriority.NORMAL
    channels: list[PlanChannel] = Field(
        default_factory=lambda: [PlanChannel.CALL], min_length=1, max_length=5
    )
    grace_period: str = Field("P3D", max_length=32, description="overdue time before escalation")
    birthday_lead_days: int = Field(DEFAULT_BIRTHDAY_LEAD_DAYS, ge=0, le=60)

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str | None) -> str | None:
        return _duration(value)

    @field_validator("grace_period")
    @classmethod
    def _grace(cls, value: str) -> str:
        checked = _duration(value)
        assert checked is not None
        return checked

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: list[PlanChannel]) -> list[PlanChannel]:
        return list(dict.fromkeys(value))


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    owner_id: int
    cadence: str | None
    effective_cadence: str
    priority: PlanPriority
    channels: list[PlanChannel]
    status: PlanStatus
    grace_period: str
    birthday_lead_days: int
    next_due_at: datetime | None
    last_touch_at: datetime | None
    escalated_at: datetime | None
    workflow_id: str
    created_at: datetime
    updated_at: datetime


class PlanEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    type: str
    actor: str
    data: dict[str, Any]


class PlanActionBody(BaseModel):
    model_config = _STRICT
    reason: str | None = Field(None, max_length=500)


class PushOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    channel: str
    kind: str
    at: datetime
    opened_at: datetime | None
    # The outbox row's state: pending (queued or waiting out the night), delivered, failed.
    delivery: str | None = None
    delivery_error: str | None = None


class UpgradeReminderBody(BaseModel):
    model_config = _STRICT
    tag: str = Field(min_length=1, max_length=64)
    product: str = Field(min_length=1, max_length=64)
    note: str | None = Field(None, max_length=500)


class UpgradeReminderOut(BaseModel):
    plans_signalled: int
