"""Quote and approval-rule bodies; money is Decimal in, decimal strings out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False)]


class LineIn(BaseModel):
    model_config = _STRICT
    sku: str | None = Field(None, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    quantity: Quantity
    unit_price: Money
    discount_pct: Percent = Decimal(0)


class QuoteIn(BaseModel):
    model_config = _STRICT
    customer_id: int = Field(gt=0)
    need_id: int | None = Field(None, gt=0)
    solution_id: int | None = Field(None, gt=0)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    valid_until: AwareDatetime
    lines: list[LineIn] = Field(default_factory=list, max_length=200)
    note: str | None = Field(None, max_length=5000)


class ReviseIn(BaseModel):
    model_config = _STRICT
    valid_until: AwareDatetime | None = None
    lines: list[LineIn] | None = Field(None, min_length=1, max_length=200)
    note: str | None = Field(None, max_length=5000)


class DecideIn(BaseModel):
    model_config = _STRICT
    decision: Literal["approve", "reject"]
    reason: str | None = Field(None, max_length=2000)


class RespondIn(BaseModel):
    model_config = _STRICT
    response: Literal["accept", "negotiate", "decline"]
    comment: str | None = Field(None, max_length=2000)


class LineOut(BaseModel):
    sku: str | None
    name: str
    quantity: str
    unit_price: str
    discount_pct: str
    amount: str


class QuoteOut(BaseModel):
    id: int
    number: str
    version: int
    customer_id: int
    need_id: int | None
    solution_id: int | None
    currency: str
    valid_until: datetime
    status: str
    note: str | None
    lines: list[LineOut]
    subtotal: str
    discount_total: str
    total: str
    approval_level: int | None
    approval_steps: list[dict[str, object]]
    superseded_by_id: int | None
    response: str | None
    workflow_id: str | None
    created_at: datetime
    updated_at: datetime


class PublicQuoteOut(BaseModel):
    number: str
    version: int
    customer_name: str
    currency: str
    valid_until: datetime
    status: str
    lines: list[LineOut]
    subtotal: str
    discount_total: str
    total: str
    answered: bool


class ApprovalRuleIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200)
    level: int = Field(ge=1, le=20)
    min_total: Money | None = None
    min_discount_pct: Percent | None = None
    approver_id: int = Field(gt=0)
    escalate_to_id: int | None = Field(None, gt=0)


class ApprovalRuleOut(BaseModel):
    id: int
    name: str
    level: int
    min_total: str | None
    min_discount_pct: str | None
    approver_id: int
    escalate_to_id: int | None
    active: bool
