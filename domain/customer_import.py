"""Import rows: the template's columns, per-row validation and duplicate keys (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from domain.customers import (
    PROFILE_FIELDS,
    CustomerSegment,
    CustomerStage,
    CustomerTier,
    CustomerType,
    name_region_key,
    normalize_email,
    normalize_phone,
    parse_tags,
)

# Columns of custom fields: `cf.<key>` (see domain.custom_fields).
CUSTOM_PREFIX = "cf."

# Template order; `code` is optional and, when given, updates that existing customer.
COLUMNS: tuple[str, ...] = (
    "code",
    *PROFILE_FIELDS,
    "contact_name",
    "contact_title",
    "phone",
    "email",
)

EXAMPLE_ROW: tuple[str, ...] = (
    "",
    "上海示例科技有限公司",
    "b2b",
    "制造业",
    "上海",
    "上海市浦东新区示例路 88 号",
    "2015-06-01",
    "展会",
    "需要年度维保方案",
    "potential",
    "potential",
    "lead",
    "重点客户;近期有采购意向",
    "",
    "张三",
    "采购经理",
    "13812345678",
    "zhangsan@example.com",
)

# Headers as people type them in Chinese templates.
HEADER_ALIASES: dict[str, str] = {
    "客户编码": "code",
    "客户名称": "name",
    "公司名称": "name",
    "名称": "name",
    "类型": "type",
    "客户类型": "type",
    "行业": "industry",
    "地区": "region",
    "区域": "region",
    "地址": "address",
    "注册地址": "address",
    "成立日期": "founded_on",
    "来源": "source",
    "来源渠道": "source",
    "需求": "requirement",
    "需求描述": "requirement",
    "等级": "tier",
    "客户等级": "tier",
    "价值分群": "segment",
    "阶段": "stage",
    "生命周期": "stage",
    "标签": "tags",
    "生日": "birthday",
    "联系人": "contact_name",
    "职务": "contact_title",
    "职位": "contact_title",
    "电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "邮箱": "email",
}

VALUE_ALIASES: dict[str, str] = {
    "企业": "b2b",
    "个人": "b2c",
    "核心": "core",
    "核心客户": "core",
    "潜在": "potential",
    "潜在客户": "potential",
    "普通": "ordinary",
    "普通客户": "ordinary",
    "高价值": "high_value",
    "沉睡": "dormant",
    "线索": "lead",
    "意向": "intention",
    "成交": "deal",
    "流失": "lost",
}

_LIMITS = {
    "name": 200,
    "industry": 120,
    "region": 120,
    "address": 500,
    "source": 64,
    "requirement": 10_000,
    "contact_name": 120,
    "contact_title": 120,
    "code": 32,
}
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")

Cell = str | int | float | date | None
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class RowError:
    field: str
    message: str


@dataclass(slots=True)
class CustomerDraft:
    """A valid row, ready to insert (or to update the customer named by `code`)."""

    name: str
    code: str | None = None
    type: CustomerType = CustomerType.B2B
    industry: str | None = None
    region: str | None = None
    address: str | None = None
    founded_on: date | None = None
    source: str | None = None
    requirement: str | None = None
    tier: CustomerTier = CustomerTier.ORDINARY
    segment: CustomerSegment | None = None
    stage: CustomerStage = CustomerStage.LEAD
    tags: list[str] = field(default_factory=list)
    birthday: date | None = None
    contact_name: str | None = None
    contact_title: str | None = None
    phone: str | None = None
    phone_normalized: str | None = None
    email: str | None = None
    email_normalized: str | None = None
    # Columns with a value in the row: an update changes only these.
    given: frozenset[str] = frozenset()
    # `cf.<key>` columns with a value, as read (checked against the definitions by the importer).
    custom_cells: dict[str, Cell] = field(default_factory=dict)
    custom_fields: dict[str, object] = field(default_factory=dict)

    def dedup_keys(self) -> list[tuple[str, str]]:
        """Keys that make two rows the same customer: normalized phone, name + region."""
        keys: list[tuple[str, str]] = []
        if self.phone_normalized:
            keys.append(("phone", self.phone_normalized))
        name_region = name_region_key(self.name, self.region)
        if name_region:
            keys.append(("name_region", "\x1f".join(name_region)))
        return keys


def header_map(header: Sequence[Cell]) -> tuple[dict[int, str], list[str]]:
    """Column index → field for known headers, and the unknown header names."""
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header):
        label = _text(cell)
        if label is None:
            continue
        key = label.lower().replace(" ", "_")
        name = key if key in COLUMNS or key.startswith(CUSTOM_PREFIX) else HEADER_ALIASES.get(label)
        if name is None:
            unknown.append(label)
        elif name not in mapping.values():
            mapping[index] = name
    return mapping, unknown


def _text(value: Cell) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store phone numbers as floats
    text = str(value).strip()
    return text or None


def _date(value: Cell) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.fullmatch(str(value).strip())
    if not match:
        raise ValueError("expected a date like 2024-05-10")
    parsed = date(int(match[1]), int(match[2]), int(match[3]))
    if parsed.year < 1800:
        raise ValueError("date is before 1800")
    return parsed


def _enum(kind: type[E], value: str) -> E:
    key = VALUE_ALIASES.get(value, value.lower())
    try:
        return kind(key)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"{value!r} is not one of: {allowed}") from None


def validate_row(raw: Mapping[str, Cell]) -> tuple[CustomerDraft | None, list[RowError]]:
    """A draft when every field is valid, else every field error of the row (nothing half)."""
    errors: list[RowError] = []
    text = {name: _text(raw.get(name)) for name in COLUMNS}
    for key, limit in _LIMITS.items():
        value = text[key]
        if value is not None and len(value) > limit:
            errors.append(RowError(key, f"longer than {limit} characters"))
            text[key] = None
    name = text["name"]
    if name is None and not any(e.field == "name" for e in errors):
        errors.append(RowError("name", "name is required"))
    draft = CustomerDraft(
        name=" ".join((name or "").split()),
        code=(text["code"] or "").upper() or None,
        given=frozenset(key for key, value in text.items() if value is not None),
    )
    for key in ("industry", "region", "address", "source", "requirement"):
        setattr(draft, key, text[key])
    draft.contact_name, draft.contact_title = text["contact_name"], text["contact_title"]
    enums: tuple[tuple[str, type[StrEnum]], ...] = (
        ("type", CustomerType),
        ("tier", CustomerTier),
        ("segment", CustomerSegment),
        ("stage", CustomerStage),
    )
    for key, kind in enums:
        value = text[key]
        if value is not None:
            try:
                setattr(draft, key, _enum(kind, value))
            except ValueError as exc:
                errors.append(RowError(key, str(exc)))
    for key in ("founded_on", "birthday"):
        cell = raw.get(key)
        if _text(cell) is not None:
            try:
                setattr(draft, key, _date(cell))
            except ValueError as exc:
                errors.append(RowError(key, str(exc)))
    if text["tags"]:
        try:
            draft.tags = parse_tags(text["tags"])
        except ValueError as exc:
            errors.append(RowError("tags", str(exc)))
    if text["phone"]:
        try:
            draft.phone, draft.phone_normalized = text["phone"], normalize_phone(text["phone"])
        except ValueError as exc:
            errors.append(RowError("phone", str(exc)))
    if text["email"]:
        try:
            draft.email, draft.email_normalized = text["email"], normalize_email(text["email"])
        except ValueError as exc:
            errors.append(RowError("email", str(exc)))
    draft.custom_cells = {
        name.removeprefix(CUSTOM_PREFIX): cell
        for name, cell in raw.items()
        if name.startswith(CUSTOM_PREFIX) and _text(cell) is not None
    }
    return (None, errors) if errors else (draft, [])
