"""Custom field definitions as the API shows and takes them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.custom_fields import KEY, Entity, FieldType

_LABEL = Field(min_length=1, max_length=100)


class CustomFieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: Entity
    key: str = Field(min_length=1, max_length=40)
    label_zh: str = _LABEL
    label_en: str = _LABEL
    type: FieldType
    options: list[str] | None = Field(None, max_length=200)
    required: bool = False
    categories: list[str] | None = Field(None, max_length=100)
    public: bool = False
    position: int = Field(0, ge=0, le=10_000)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("lowercase letters, digits and _, starting with a letter")
        return value


class CustomFieldPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label_zh: str | None = Field(None, min_length=1, max_length=100)
    label_en: str | None = Field(None, min_length=1, max_length=100)
    options: list[str] | None = Field(None, max_length=200)
    required: bool | None = None
    categories: list[str] | None = Field(None, max_length=100)
    public: bool | None = None
    active: bool | None = None
    position: int | None = Field(None, ge=0, le=10_000)


class CustomFieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entity: Entity
    key: str
    label_zh: str
    label_en: str
    type: FieldType
    options: list[str]
    required: bool
    categories: list[str]
    public: bool
    active: bool
    position: int


class PublicFieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    label_zh: str
    label_en: str
    type: FieldType
    options: list[str]
    required: bool
    categories: list[str]
