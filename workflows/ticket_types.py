"""Inputs, state and results of the ticket workflow and its activities (pydantic, JSON-safe)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.calendar import CalendarSpec
from domain.sla import PolicyVersion, Priority, SlaEvent
from domain.tickets import Channel, SurveyRating, TicketStatus


class Contact(BaseModel):
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class NewTicket(BaseModel):
    """What the API hands the workflow when a ticket is created."""

    number: str
    title: str
    description: str
    category: str
    priority: Priority
    channel: Channel
    department_id: int | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    order_no: str | None = None
    contact: Contact | None = None
    actor: str
    created_by: int | None = None
    # Validated by the API; written by create_ticket_record (no workflow command depends on it).
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class TicketState(BaseModel):
    """Everything the workflow remembers; carried across continue-as-new."""

    ticket_id: int
    number: str
    category: str
    priority: Priority
    status: TicketStatus = TicketStatus.PENDING
    department_id: int | None = None
    assignee_id: int | None = None
    collaborator_department_ids: list[int] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    first_response_at: datetime | None = None
    reopen_count: int = 0
    escalation_level: int = 0
    satisfaction: SurveyRating | None = None
    seq: int = 0
    policy: PolicyVersion
    calendar: CalendarSpec
    # None for tickets bound before calendars had versions.
    calendar_version: int | None = None
    sla_events: list[SlaEvent] = Field(default_factory=list)
    fired: list[str] = Field(default_factory=list)


class TicketWorkflowInput(BaseModel):
    """Either a new ticket, or the state carried over by continue-as-new."""

    new: NewTicket | None = None
    state: TicketState | None = None


class CreateTicketRecord(BaseModel):
    workflow_id: str
    ticket: NewTicket
    at: datetime


class CreatedRecord(BaseModel):
    ticket_id: int
    created_at: datetime
    policy: PolicyVersion
    calendar: CalendarSpec
    calendar_version: int | None = None


class EventDraft(BaseModel):
    seq: int
    at: datetime
    type: str
    actor: str
    data: dict[str, Any] = Field(default_factory=dict)


class NotificationRequest(BaseModel):
    """An in-app notice; `notify` is assignee | department_manager | role:admin | a user id."""

    event_seq: int
    notify: str
    template: str
    channels: list[str] = Field(default_factory=lambda: ["in_app"])
    department_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class TicketChanges(BaseModel):
    """One atomic persist: new timeline events, the projection after them, notifications."""

    workflow_id: str
    state: TicketState
    events: list[EventDraft]
    sla_breached: bool = False
    notifications: list[NotificationRequest] = Field(default_factory=list)


class AssignInput(BaseModel):
    actor: str
    assignee_id: int | None = None
    department_id: int | None = None


class CommentInput(BaseModel):
    actor: str
    body: str
    public: bool = False
    by_customer: bool = False


class StatusInput(BaseModel):
    actor: str
    status: TicketStatus
    note: str | None = None


class PriorityInput(BaseModel):
    actor: str
    priority: Priority
    reason: str


class CollaboratorInput(BaseModel):
    actor: str
    department_id: int
    note: str | None = None


class ReopenInput(BaseModel):
    actor: str
    reason: str


class SurveyInput(BaseModel):
    actor: str
    rating: SurveyRating
    comment: str | None = None


class RebindInput(BaseModel):
    """A policy rollout moving the ticket onto `policy` with `calendar` (concrete data)."""

    actor: str
    rollout_id: int
    policy: PolicyVersion
    calendar: CalendarSpec
    calendar_version: int


class TicketResult(BaseModel):
    """What every update returns: enough for the API to re-read the projection."""

    ticket_id: int
    number: str
    status: TicketStatus
    seq: int
