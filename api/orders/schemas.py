"""Order bodies: money as a decimal string with two places, never a float."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str),
]


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-./]+$")
    amount: Money
    ordered_on: date
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    order_no: str
    amount: Money
    currency: str
    ordered_on: date
    source: str
    source_ref: str | None
    created_at: datetime
