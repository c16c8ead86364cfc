"""Needs, solutions and service-order bodies."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
Tag = Annotated[str, Field(min_length=1, max_length=64)]


class NeedIn(BaseModel):
    model_config = _STRICT
    kind: Literal["product", "service", "custom"]
    description: str = Field(min_length=1, max_length=5000)
    interaction_id: int | None = Field(None, gt=0, lt=2**63)


class NeedOut(BaseModel):
    id: int
    customer_id: int
    kind: str
    description: str
    interaction_id: int | None
    status: str
    created_at: datetime


class SolutionItem(BaseModel):
    model_config = _STRICT
    sku: str | None = Field(None, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    unit_price: Money


class SolutionIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["standard", "custom", "after_sales"]
    description: str = Field("", max_length=10_000)
    items: list[SolutionItem] = Field(default_factory=list, max_length=200)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class SolutionPatch(BaseModel):
    model_config = _STRICT
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: Literal["standard", "custom", "after_sales"] | None = None
    description: str | None = Field(None, max_length=10_000)
    items: list[SolutionItem] | None = Field(None, max_length=200)
    tags: list[Tag] | None = Field(None, max_length=50)


class SolutionOut(BaseModel):
    id: int
    name: str
    kind: str
    description: str
    items: list[dict[str, Any]]
    tags: list[str]
    created_at: datetime


class StageIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=100)
    due_in: timedelta
    owner_id: int | None = Field(None, gt=0, lt=2**31)

    @field_validator("due_in")
    @classmethod
    def _due_in(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(days=3650):
            raise ValueError("due_in must be between PT1M and P3650D")
        return value


class ServiceOrderIn(BaseModel):
    model_config = _STRICT
    customer_id: int = Field(gt=0, lt=2**63)
    quote_id: int | None = Field(None, gt=0, lt=2**63)
    title: str = Field(min_length=1, max_length=200)
    owner_id: int = Field(gt=0, lt=2**31)
    stages: list[StageIn] | None = Field(None, min_length=1, max_length=20)


class CompleteStageIn(BaseModel):
    model_config = _STRICT
    note: str = Field(min_length=1, max_length=5000)
    attachment_ids: list[Annotated[int, Field(gt=0, lt=2**63)]] = Field(
        default_factory=list, max_length=50
    )


class StageOut(BaseModel):
    index: int
    name: str
    owner_id: int | None
    status: str
    due_at: datetime
    completed_at: datetime | None
    note: str | None
    attachment_ids: list[int]


class ServiceOrderOut(BaseModel):
    id: int
    number: str
    customer_id: int
    quote_id: int | None
    title: str
    owner_id: int
    status: str
    current_stage: int | None
    completed_at: datetime | None
    workflow_id: str
    stages: list[StageOut]
