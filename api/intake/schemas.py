"""Bodies of the public intake API and of the categories / routing-rules admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.tickets.schemas import ContactIn
from domain.routing import AssigneeStrategy
from domain.sla import Priority
from domain.tickets import Channel, SurveyRating, TicketStatus

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
CODE_PATTERN = r"^[a-z0-9_.-]+$"


# --- public -----------------------------------------------------------------------------
class FeedbackIn(BaseModel):
    """The whole public form: a category and a description; contact and order optional."""

    model_config = _STRICT
    category: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=5_000)
    contact: ContactIn | None = None
    order_no: str | None = Field(None, max_length=64)
    # Honeypot: hidden from people, filled by bots.
    website: str | None = Field(None, max_length=200)
    # Ticket custom fields marked public (GET /public/custom-fields).
    custom_fields: dict[str, Any] | None = Field(None, max_length=50)


class FeedbackCreated(BaseModel):
    number: str
    status_token: str
    status_url: str


class PublicCategory(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name_zh: str
    name_en: str


class PublicEvent(BaseModel):
    at: datetime
    type: str
    by: str = Field(description="customer | staff | system; never a person")
    data: dict[str, Any]


class PublicStatus(BaseModel):
    number: str
    category: str
    status: TicketStatus
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    satisfaction: SurveyRating | None
    survey_open: bool
    timeline: list[PublicEvent]


class PublicSurveyIn(BaseModel):
    model_config = _STRICT
    rating: SurveyRating
    comment: str | None = Field(None, max_length=2_000)


class PublicCommentIn(BaseModel):
    model_config = _STRICT
    body: str = Field(min_length=1, max_length=5_000)


# --- admin ------------------------------------------------------------------------------
class CategoryCreate(BaseModel):
    model_config = _STRICT
    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
    name_zh: str = Field(min_length=1, max_length=120)
    name_en: str = Field(min_length=1, max_length=120)
    default_priority: Priority = Priority.NORMAL
    department_id: int | None = Field(None, ge=1)
    active: bool = True


class CategoryPatch(BaseModel):
    model_config = _STRICT
    name_zh: str | None = Field(None, min_length=1, max_length=120)
    name_en: str | None = Field(None, min_length=1, max_length=120)
    default_priority: Priority | None = None
    department_id: int | None = Field(None, ge=1)
    active: bool | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name_zh: str
    name_en: str
    default_priority: Priority
    department_id: int | None
    active: bool
    created_at: datetime


class RuleFields(BaseModel):
    model_config = _STRICT
    position: int | None = Field(None, ge=0, le=1_000_000)
    category: str | None = Field(None, min_length=1, max_length=64)
    channel: Channel | None = None
    customer_tier: str | None = Field(None, min_length=1, max_length=24)
    keywords: list[str] | None = Field(None, max_length=50)
    department_id: int | None = Field(None, ge=1)
    assignee_strategy: AssigneeStrategy | None = None
    assignee_id: int | None = Field(None, ge=1)
    active: bool | None = None

    @model_validator(mode="after")
    def _keywords_are_words(self) -> RuleFields:
        if self.keywords is not None:
            cleaned = [word.strip() for word in self.keywords]
            if any(not word or len(word) > 100 for word in cleaned):
                raise ValueError("keywords must be non-empty and at most 100 characters")
            self.keywords = cleaned
        return self


class RuleCreate(RuleFields):
    department_id: int = Field(ge=1)
    assignee_strategy: AssigneeStrategy = AssigneeStrategy.LEAST_LOADED


class RulePatch(RuleFields):
    pass


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    position: int
    category: str | None
    channel: str | None
    customer_tier: str | None
    keywords: list[str]
    department_id: int
    assignee_strategy: AssigneeStrategy
    assignee_id: int | None
    active: bool
    created_at: datetime
    updated_at: datetime
