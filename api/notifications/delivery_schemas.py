"""Bodies of the delivery endpoints: delivery records, secret rotation, channel state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import Header
from pydantic import BaseModel, Field, StringConstraints, field_validator

DeliveryStatus = Literal["pending", "delivered", "failed", "refused", "parked", "skipped"]
RobotChannel = Literal["wecom", "dingtalk", "feishu"]
IdempotencyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=100, min_length=1, pattern=r"^[\x21-\x7e]+$"),
]


class DeliveryOut(BaseModel):
    """One outbound delivery; `error` is the last attempt's, in one line."""

    id: int
    event: str = Field(description="timeline event type, or `ping` for a test send")
    status: DeliveryStatus
    attempts: int
    response_status: int | None = Field(None, description="HTTP status of the last answer")
    error: str | None = None
    latency_ms: int | None = Field(None, description="duration of the last attempt")
    created_at: datetime
    ticket_id: int | None = None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None


class RotateSecret(BaseModel):
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = Field(
        None, description="the new HMAC key; generated and shown once when omitted"
    )
    overlap: timedelta = Field(
        timedelta(hours=24),
        description="ISO 8601 duration the old secret keeps signing (a second v1), e.g. PT24H; "
        "PT0S stops it at once; at most P7D",
    )

    @field_validator("overlap")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if not timedelta(0) <= value <= timedelta(days=7):
            raise ValueError("overlap must be between PT0S and P7D")
        return value


class SecretRotated(BaseModel):
    id: int
    secret: str
    previous_secret_until: datetime | None


class ChannelState(BaseModel):
    """A webhook's or robot channel's circuit breaker."""

    destination: str
    consecutive_failures: int
    parked: bool
    parked_at: datetime | None = None
