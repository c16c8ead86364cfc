"""Request and response bodies of the notification endpoints."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from domain.outbound import url_syntax_problem

UserChannel = Literal["in_app", "email", "sms", "wecom", "dingtalk", "feishu"]
EventName = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z][a-z_]{0,63})$")]


def _real_url(value: str) -> str:
    problem = url_syntax_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# Parsed as a URL (IDNA host, port range), no control characters, no credentials.
Url = Annotated[
    str,
    StringConstraints(max_length=500, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$"),
    AfterValidator(_real_url),
    Field(json_schema_extra={"format": "uri"}),
]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class NotificationOut(BaseModel):
    id: int
    ticket_id: int | None
    ticket_number: str | None
    template: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    read: bool


class QuietHoursBody(BaseModel):
    start: time = Field(description="local wall time, e.g. 22:00")
    end: time = Field(description="local wall time, e.g. 08:00 (before start: wraps midnight)")


class PreferencesIn(BaseModel):
    """Secrets: omit to keep the stored one, null to clear it."""

    channels: list[UserChannel] = Field(default=["in_app", "email"], max_length=6)
    quiet_hours: QuietHoursBody | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "Asia/Shanghai"
    locale: Annotated[str, StringConstraints(pattern=r"^(zh|en)([-_][A-Za-z]{2,4})?$")] = "zh-CN"
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    wecom_webhook_url: Url | None = None
    dingtalk_webhook_url: Url | None = None
    dingtalk_secret: Secret | None = None
    feishu_webhook_url: Url | None = None
    feishu_secret: Secret | None = None


class PreferencesOut(BaseModel):
    channels: list[str]
    quiet_hours: QuietHoursBody | None
    timezone: str
    locale: str
    phone: str | None
    wecom_webhook_url: str | None
    dingtalk_webhook_url: str | None
    has_dingtalk_secret: bool
    feishu_webhook_url: str | None
    has_feishu_secret: bool


class WebhookCreate(BaseModel):
    url: Url
    events: list[EventName] = Field(min_length=1, max_length=50)
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = Field(
        None, description="HMAC key; generated and shown once when omitted"
    )
    active: bool = True


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str
