"""Request and response bodies for departments, users and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from models import Role

# Unknown fields are refused (422) rather than dropped, so a typo never passes silently.
_STRICT = ConfigDict(extra="forbid")


# Checked as a syntactically valid stand-in, then restored: special-use names pass for staff.
_STAND_IN = ".example.com"


def _staff_email(value: str) -> str:
    """Any valid address, including internal domains (corp.local, *.internal, localhost).

    Staff accounts often live on special-use domains that customer addresses may not use;
    the syntax rules (local part, labels, IDNA) are still the library's.
    """
    try:
        return email_validator.validate_email(value, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        local, at, domain = value.rpartition("@")
        suffix = domain.lower().rstrip(".").rsplit(".", 1)[-1]
        if not at or suffix not in email_validator.SPECIAL_USE_DOMAIN_NAMES:
            raise ValueError(str(exc)) from None
        try:
            checked = email_validator.validate_email(
                f"{local}@{domain}{_STAND_IN}", check_deliverability=False
            )
        except email_validator.EmailNotValidError as again:
            raise ValueError(str(again)) from None
        return checked.normalized.removesuffix(_STAND_IN)


StaffEmail = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_staff_email),
]


class DepartmentCreate(BaseModel):
    model_config = _STRICT
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=120)
    manager_id: int | None = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    manager_id: int | None
    created_at: datetime


class UserCreate(BaseModel):
    model_config = _STRICT
    email: StaffEmail
    name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=12, max_length=256)
    role: Role
    department_id: int | None = None

    @field_validator("password")
    @classmethod
    def _password_policy(cls, value: str, info: ValidationInfo) -> str:
        """At least two character classes, and not the email (length is the Field's rule)."""
        classes = {
            "lower" if c.islower() else "upper" if c.isupper() else "digit" if c.isdigit() else "x"
            for c in value
        }
        if len(classes) < 2:
            raise ValueError("mix at least two of: lower case, upper case, digits, symbols")
        email = str(info.data.get("email", "")).lower()
        if email and (value.lower() == email or value.lower() == email.split("@")[0]):
            raise ValueError("the password must not be the email address")
        return value


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    name: str
    role: Role
    department_id: int | None
    is_active: bool
    created_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=120)
    user_id: int | None = Field(None, description="User the key acts as; defaults to the caller")


class ApiKeyCreated(BaseModel):
    id: int
    name: str
    user_id: int
    key: str = Field(description="Shown once; only its hash is stored")
    prefix: str
