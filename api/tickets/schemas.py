"""Ticket request and response bodies (the shapes in API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from api.schema_rules import INT4_MAX
from domain.sla import Priority
from domain.tickets import Channel, SurveyRating, TicketStatus

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(BaseModel):
    model_config = _STRICT
    name: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=32, pattern=r"^\+?[0-9 ()-]{5,32}$")
    email: EmailStr | None = None


class TicketCreate(BaseModel):
    model_config = _STRICT
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    category: str = Field(min_length=1, max_length=64)
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.STAFF
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)  # tickets.customer_id is bigint
    contact: ContactIn | None = None
    order_no: str | None = Field(None, max_length=64)
    department_id: int | None = Field(None, ge=1)
    assignee_id: int | None = Field(None, ge=1)
    # A conversation id in an outside system (e.g. a customer-service tool): one ticket per
    # (source, external_id); a repeat returns the existing ticket.
    source: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    external_id: str | None = Field(None, min_length=1, max_length=200)
    # Values of the admin-defined ticket fields (GET /custom-fields?entity=ticket).
    custom_fields: dict[str, Any] | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _source_with_external_id(self) -> TicketCreate:
        if (self.source is None) != (self.external_id is None):
            raise ValueError("source and external_id go together")
        return self


class AssignBody(BaseModel):
    # At least one of the two, not null: the schema says so too.
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "anyOf": [
                {"required": ["assignee_id"], "properties": {"assignee_id": {"type": "integer"}}},
                {
                    "required": ["department_id"],
                    "properties": {"department_id": {"type": "integer"}},
                },
            ]
        },
    )
    assignee_id: int | None = Field(None, ge=1, le=INT4_MAX)
    department_id: int | None = Field(None, ge=1, le=INT4_MAX)

    @model_validator(mode="after")
    def _something(self) -> AssignBody:
        if self.assignee_id is None and self.department_id is None:
            raise ValueError("give assignee_id and/or department_id")
        return self


class CommentBody(BaseModel):
    model_config = _STRICT
    body: str = Field(min_length=1, max_length=10_000)
    public: bool = False


class StatusBody(BaseModel):
    model_config = _STRICT
    status: TicketStatus
    note: str | None = Field(None, max_length=5_000)


class PriorityBody(BaseModel):
    model_config = _STRICT
    priority: Priority
    reason: str = Field(min_length=1, max_length=2_000)


class CollaboratorBody(BaseModel):
    model_config = _STRICT
    department_id: int = Field(ge=1, le=INT4_MAX)
    note: str | None = Field(None, max_length=2_000)


class ReopenBody(BaseModel):
    model_config = _STRICT
    reason: str = Field(min_length=1, max_length=2_000)


class SurveyBody(BaseModel):
    model_config = _STRICT
    rating: SurveyRating
    comment: str | None = Field(None, max_length=5_000)


class TargetOut(BaseModel):
    due_at: datetime | None
    met_at: datetime | None
    breached: bool
    remaining_seconds: int


class SlaOut(BaseModel):
    policy_id: int
    policy_version: int
    first_response: TargetOut
    resolution: TargetOut
    paused: bool


class TicketOut(BaseModel):
    id: int
    number: str
    title: str
    description: str
    category: str
    priority: Priority
    status: TicketStatus
    channel: Channel
    department_id: int | None
    assignee_id: int | None
    customer_id: int | None
    order_no: str | None
    contact: dict[str, Any] | None
    collaborator_department_ids: list[int]
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_at: datetime | None
    reopen_count: int
    escalation_level: int
    sla: SlaOut | None
    satisfaction: SurveyRating | None
    workflow_id: str
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    # Stored values their definition no longer allows (a removed option): key → reason.
    custom_field_flags: dict[str, str] = Field(default_factory=dict)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    type: str
    actor: str
    data: dict[str, Any]
