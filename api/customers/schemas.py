"""Customer request and response bodies (the shapes in API.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schema_rules import ID_MAX
from domain.customers import (
    Approval,
    CustomerSegment,
    CustomerStage,
    CustomerTier,
    CustomerType,
    Decision,
    InteractionKind,
    normalize_email,
    normalize_phone,
    parse_tags,
    primary_flags,
)

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(BaseModel):
    model_config = _STRICT
    name: str | None = Field(None, max_length=120)
    title: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    primary: bool = False

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value:
            normalize_phone(value)  # ValueError → 422 naming body.contacts.N.phone
        return value or None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value:
            normalize_email(value)
        return value or None

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not (self.name or self.phone or self.email):
            raise ValueError("a contact needs a name, phone or email")
        return self


class _Profile(BaseModel):
    model_config = _STRICT
    industry: str | None = Field(None, max_length=120)
    region: str | None = Field(None, max_length=120)
    address: str | None = Field(None, max_length=500)
    founded_on: date | None = None
    source: str | None = Field(None, max_length=64)
    requirement: str | None = Field(None, max_length=10_000)
    segment: CustomerSegment | None = None
    birthday: date | None = None

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else parse_tags(value)

    @field_validator("contacts", check_fields=False)
    @classmethod
    def _contacts(cls, value: list[ContactIn] | None) -> list[ContactIn] | None:
        """Exactly one primary contact: the marked one, else the first."""
        if value is None:
            return None
        for contact, flag in zip(value, primary_flags([c.primary for c in value]), strict=True):
            contact.primary = flag
        return value


class CustomerCreate(_Profile):
    name: str = Field(min_length=1, max_length=200)
    type: CustomerType = CustomerType.B2B
    owner_id: int | None = Field(None, ge=1)
    tier: CustomerTier = CustomerTier.ORDINARY
    stage: CustomerStage = CustomerStage.LEAD
    tags: list[str] = Field(default_factory=list, max_length=20)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)
    # Values of the admin-defined customer fields (GET /custom-fields?entity=customer).
    custom_fields: dict[str, Any] | None = Field(None, max_length=100)


class CustomerPatch(_Profile):
    """Only the fields present change; `tags` and `contacts` replace the whole list."""

    name: str | None = Field(None, min_length=1, max_length=200)
    type: CustomerType | None = None
    owner_id: int | None = Field(None, ge=1)
    tier: CustomerTier | None = None
    stage: CustomerStage | None = None
    tags: list[str] | None = Field(None, max_length=20)
    contacts: list[ContactIn] | None = Field(None, max_length=20)
    # Merged into the stored values; a null value clears that field.
    custom_fields: dict[str, Any] | None = Field(None, max_length=100)


class ContactOut(BaseModel):
    id: int
    name: str | None
    title: str | None
    phone: str | None
    email: str | None
    primary: bool


class CustomerOut(BaseModel):
    id: int
    code: str
    name: str
    type: CustomerType
    industry: str | None
    region: str | None
    address: str | None
    founded_on: date | None
    source: str | None
    requirement: str | None
    owner_id: int | None
    department_id: int | None
    tier: CustomerTier
    segment: CustomerSegment | None
    stage: CustomerStage
    tags: list[str]
    contacts: list[ContactOut]
    birthday: date | None
    approval: Approval
    approval_reason: str | None
    last_contact_at: datetime | None
    merged_into_id: int | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    # Stored values their definition no longer allows (a removed option): key → reason.
    custom_field_flags: dict[str, str] = Field(default_factory=dict)


class ApproveBody(BaseModel):
    # Rejecting needs a reason: the schema says so with if/then.
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "if": {"properties": {"decision": {"const": "reject"}}, "required": ["decision"]},
            "then": {
                "required": ["reason"],
                "properties": {"reason": {"type": "string", "pattern": "\\S"}},
            },
        },
    )
    decision: Decision
    reason: str | None = Field(None, max_length=2_000)

    @model_validator(mode="after")
    def _reason(self) -> ApproveBody:
        if self.decision is Decision.REJECT and not self.reason:
            raise ValueError("a reason is required to reject")
        return self


class MergeBody(BaseModel):
    model_config = _STRICT
    target_id: int = Field(ge=1)
    source_ids: list[int] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _distinct(self) -> MergeBody:
        if self.target_id in self.source_ids:
            raise ValueError("the target cannot also be a source")
        if len(set(self.source_ids)) != len(self.source_ids):
            raise ValueError("source_ids repeat a customer")
        return self


class MergeOut(BaseModel):
    target: CustomerOut
    merged: dict[str, Any]


class InteractionCreate(BaseModel):
    model_config = _STRICT
    kind: InteractionKind
    at: datetime | None = None
    summary: str = Field(min_length=1, max_length=10_000)
    customer_feedback: str | None = Field(None, max_length=10_000)
    next_step: str | None = Field(None, max_length=5_000)
    next_follow_up_at: datetime | None = None

    @field_validator("at", "next_follow_up_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone offset (RFC 3339)")
        return value


class InteractionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    kind: InteractionKind
    at: datetime
    summary: str
    customer_feedback: str | None
    next_step: str | None
    next_follow_up_at: datetime | None
    created_by: int | None
    created_at: datetime


class DuplicateOut(BaseModel):
    row: int
    matches: list[dict[str, Any]]


class RowErrorOut(BaseModel):
    row: int
    field: str
    message: str


class ImportReport(BaseModel):
    dry_run: bool
    rows: int
    created: int
    updated: int
    duplicates: list[DuplicateOut]
    errors: list[RowErrorOut]


class CustomerEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    type: str
    actor: str
    data: dict[str, Any]


class ResubmitBody(BaseModel):
    model_config = _STRICT
    note: str | None = Field(None, max_length=2_000)


class BulkApproveBody(ApproveBody):
    """One decision for up to 500 customers (clearing a manager's daily digest)."""

    customer_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(
        min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}
    )

    @field_validator("customer_ids")
    @classmethod
    def _ids(cls, value: list[int]) -> list[int]:
        if any(cid < 1 for cid in value):
            raise ValueError("customer ids are positive integers")
        if len(set(value)) != len(value):
            raise ValueError("customer_ids repeat a customer")
        return value


class BulkDecided(BaseModel):
    id: int
    approval: Approval


class BulkFailure(BaseModel):
    """An id left undecided and why: not_found, forbidden, already_decided, customer_merged …"""

    id: int
    code: str
    message: str


class BulkApproveOut(BaseModel):
    decided: list[BulkDecided]
    failed: list[BulkFailure]
