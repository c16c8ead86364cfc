"""Policy versions, diffs, publishing, rollouts and the simulator (API.md Round 2)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.sla.schemas import PolicyBody
from domain.sla import Priority


class PolicyVersionOut(BaseModel):
    version: int
    created_at: datetime
    created_by: int | None
    body: dict[str, Any]


class ChangeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    path: str
    from_: Any = Field(None, alias="from", serialization_alias="from")
    to: Any = None


class DiffOut(BaseModel):
    from_version: int
    to_version: int
    changes: list[ChangeOut]


class RolloutMode(StrEnum):
    NEW_TICKETS_ONLY = "new_tickets_only"
    REBIND_OPEN = "rebind_open"


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rollout: RolloutMode
    version: int | None = Field(None, ge=1)


class RolloutOut(BaseModel):
    rollout_id: int
    policy_id: int
    version: int
    calendar_version: int
    mode: RolloutMode
    status: str
    total: int
    rebound: int
    skipped: int
    failed: int
    started_at: datetime
    finished_at: datetime | None


class SimulateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: PolicyBody
    since: AwareDatetime
    until: AwareDatetime
    department_id: int | None = None
    category: str | None = Field(None, max_length=64)
    priority: Priority | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SimulateBody:
        if self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class Outcome(BaseModel):
    due_at: datetime | None
    breached: bool


class ChangedTicket(BaseModel):
    id: int
    number: str
    target: str
    now: Outcome
    candidate: Outcome


class SimulateOut(BaseModel):
    evaluated: int
    summary: dict[str, dict[str, int]]
    by_priority: dict[str, dict[str, dict[str, int]]]
    by_department: list[dict[str, Any]]
    changed: list[ChangedTicket]
    changed_truncated: bool = False
    elapsed_ms: int
