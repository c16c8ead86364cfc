"""Inputs of the service-order workflow and its activities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class StageIn(BaseModel):
    index: int
    name: str
    due_at: datetime
    owner_id: int


class ServiceOrderInput(BaseModel):
    order_id: int
    number: str
    owner_id: int
    stages: list[StageIn]
    remind_before_seconds: int = 86_400
    current: int = 0


class CompleteStageInput(BaseModel):
    index: int
    note: str
    attachment_ids: list[int] = []
    actor_id: int


class OrderView(BaseModel):
    order_id: int
    current_stage: int | None
    completed: bool


class StageAlert(BaseModel):
    """A reminder before a stage's deadline, or its overdue escalation."""

    workflow_id: str
    order_id: int
    index: int
    kind: str  # reminder | overdue


class StageCompletion(BaseModel):
    workflow_id: str
    order_id: int
    completion: CompleteStageInput
    last: bool
    at: datetime
