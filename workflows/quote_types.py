"""Inputs and results of the quote workflow and its activities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.sales.quotes import QuoteResponse, QuoteStatus


class QuoteStep(BaseModel):
    level: int
    approver_id: int
    escalate_to_id: int | None = None


class QuoteInput(BaseModel):
    quote_id: int
    number: str
    version: int
    valid_until: datetime
    steps: list[QuoteStep]
    actor: str
    remind_every_seconds: int = 86_400
    escalate_after_reminders: int = 2
    max_reminders: int = 14


class QuoteView(BaseModel):
    quote_id: int
    status: QuoteStatus
    approval_level: int | None = None


class DecideInput(BaseModel):
    decision: str  # approve | reject
    reason: str | None = None
    actor_id: int
    actor_is_admin: bool = False


class SendInput(BaseModel):
    actor_id: int


class RespondInput(BaseModel):
    response: QuoteResponse
    comment: str | None = None


class SubmitRecord(BaseModel):
    workflow_id: str
    quote_id: int
    steps: list[QuoteStep]
    actor: str
    at: datetime


class StepNotice(BaseModel):
    """An approval request (sequence 0), a reminder (1, 2, …) or the escalation of one step."""

    workflow_id: str
    quote_id: int
    step: QuoteStep
    index: int
    sequence: int
    escalate: bool = False


class DecisionRecord(BaseModel):
    workflow_id: str
    quote_id: int
    index: int
    last: bool
    decision: DecideInput
    at: datetime


class SendRecord(BaseModel):
    workflow_id: str
    quote_id: int
    actor_id: int
    at: datetime


class ResponseRecord(BaseModel):
    workflow_id: str
    quote_id: int
    response: RespondInput
    at: datetime


class ExpireRecord(BaseModel):
    workflow_id: str
    quote_id: int
    at: datetime
