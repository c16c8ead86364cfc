"""Inputs, state and results of the follow-up plan workflow and its activities (pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.cadence import (
    DEFAULT_BIRTHDAY_LEAD_DAYS,
    PlanChannel,
    PlanPriority,
    PlanStatus,
)
from domain.customers import CustomerSegment, CustomerTier


class NewPlan(BaseModel):
    """What the API hands the workflow when a plan is created."""

    plan_id: int
    customer_id: int
    owner_id: int
    cadence: str | None = None  # ISO duration; None follows the tier/segment rule
    priority: PlanPriority = PlanPriority.NORMAL
    channels: list[PlanChannel] = Field(default_factory=lambda: [PlanChannel.CALL])
    grace_period: str = "P3D"
    birthday_lead_days: int = DEFAULT_BIRTHDAY_LEAD_DAYS
    timezone: str = "Asia/Shanghai"
    actor: str
    created_by: int | None = None


class CustomerFacts(BaseModel):
    """What the plan needs to know about its customer, read fresh at every wake-up."""

    customer_id: int
    code: str
    tier: CustomerTier
    segment: CustomerSegment | None = None
    birthday: date | None = None
    tags: list[str] = Field(default_factory=list)
    last_contact_at: datetime | None = None


class FactsRequest(BaseModel):
    """The plan row's customer wins over `customer_id` (a merge may have moved the plan)."""

    plan_id: int
    customer_id: int


class FactsResult(BaseModel):
    facts: CustomerFacts | None = None  # None: the customer is gone


class PlanState(BaseModel):
    """Everything the workflow remembers; carried across continue-as-new."""

    plan_id: int
    customer_id: int
    customer_code: str
    owner_id: int
    cadence: str | None = None
    priority: PlanPriority
    channels: list[PlanChannel]
    grace_period: str
    birthday_lead_days: int
    timezone: str
    tier: CustomerTier
    segment: CustomerSegment | None = None
    birthday: date | None = None
    tags: list[str] = Field(default_factory=list)
    status: PlanStatus = PlanStatus.ACTIVE
    started_at: datetime
    updated_at: datetime
    last_touch_at: datetime | None = None
    next_due_at: datetime
    reminded_due: datetime | None = None  # the due whose reminder went out
    reminded_at: datetime | None = None  # grace runs from here (a resumed plan is not late)
    escalated_due: datetime | None = None  # the due that went to the manager
    escalated_at: datetime | None = None
    fired: list[str] = Field(default_factory=list)  # care-task keys already handled
    seq: int = 0


class PlanWorkflowInput(BaseModel):
    """Either a new plan, or the state carried over by continue-as-new."""

    new: NewPlan | None = None
    state: PlanState | None = None


class CreatePlanRecord(BaseModel):
    workflow_id: str
    plan: NewPlan
    effective_cadence: str
    next_due_at: datetime
    last_touch_at: datetime | None = None
    at: datetime


class EventDraft(BaseModel):
    seq: int
    at: datetime
    type: str
    actor: str
    data: dict[str, Any] = Field(default_factory=dict)


class NoticeRequest(BaseModel):
    """An in-app notice for the owner or the owner's department manager."""

    event_seq: int
    template: str
    notify: str  # "owner" | "owner_manager"
    data: dict[str, Any] = Field(default_factory=dict)


class PlanChanges(BaseModel):
    workflow_id: str
    state: PlanState
    effective_cadence: str
    events: list[EventDraft]
    notices: list[NoticeRequest] = Field(default_factory=list)


class PushRequest(BaseModel):
    """One automatic push to the customer; `key` makes retries and repeats harmless."""

    workflow_id: str
    plan_id: int
    customer_id: int
    tier: CustomerTier
    channels: list[PlanChannel]
    key: str
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)
    at: datetime
    timezone: str


class PushOutcome(BaseModel):
    channel: str | None = None
    push_id: int | None = None
    reason: str | None = None  # why nothing was sent: monthly_cap, channels_paused, …
    paused: list[str] = Field(default_factory=list)


class PlanResult(BaseModel):
    plan_id: int
    status: PlanStatus
    next_due_at: datetime
    seq: int


class InteractionLogged(BaseModel):
    """Signal `interaction_logged`: a touch was recorded in the customer file."""

    at: datetime
    actor: str = "system"


class CadenceChanged(BaseModel):
    """Signal `cadence_changed`: the customer's segment or tier moved."""

    segment: CustomerSegment | None = None
    tier: CustomerTier | None = None


class UpgradeAvailable(BaseModel):
    """Signal `upgrade_available`: remind customers carrying `tag` about `product`."""

    tag: str
    product: str
    note: str | None = None
    actor: str = "system"


class PlanAction(BaseModel):
    """Argument of the pause / resume / cancel updates."""

    actor: str
    reason: str | None = None


class SegmentRun(BaseModel):
    """Argument of the RFM recomputation; `customer_ids` narrows it (None = everyone)."""

    as_of: datetime | None = None
    customer_ids: list[int] | None = None


class SegmentRunResult(BaseModel):
    customers: int = 0
    changed: int = 0
    plans_signalled: int = 0
