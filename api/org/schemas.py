"""Request and response bodies for departments, users and API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from models import Role

# Unknown fields are refused (422) rather than dropped, so a typo never passes silently.
_STRICT = ConfigDict(extra="forbid")


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
    email: EmailStr
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
