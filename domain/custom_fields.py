"""Custom fields: definitions, value validation, filters and stale-value flags (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TEXT = 2000


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    MULTISELECT = "multiselect"
    BOOL = "bool"


class Entity(StrEnum):
    TICKET = "ticket"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Definition:
    key: str
    type: FieldType
    options: tuple[str, ...] = ()
    required: bool = False
    # Ticket fields limited to these categories; empty: every category.
    categories: tuple[str, ...] = ()
    public: bool = False
    active: bool = True

    def applies_to(self, category: str | None) -> bool:
        return self.active and (not self.categories or category in self.categories)


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field path, message)


def _value(d: Definition, raw: Any) -> Any:
    """The stored form of one value; ValueError with a message a person can act on."""
    if d.type is FieldType.TEXT:
        if not isinstance(raw, str):
            raise ValueError("expected text")
        if len(raw) > MAX_TEXT or "\x00" in raw:
            raise ValueError(f"at most {MAX_TEXT} characters, no NUL")
        return raw.strip()
    if d.type is FieldType.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise ValueError("expected a number")
        return raw
    if d.type is FieldType.BOOL:
        if not isinstance(raw, bool):
            raise ValueError("expected true or false")
        return raw
    if d.type is FieldType.DATE:
        if not isinstance(raw, str):
            raise ValueError("expected a date like 2024-05-10")
        return date.fromisoformat(raw).isoformat()
    if d.type is FieldType.SELECT:
        if raw not in d.options:
            raise ValueError(f"expected one of {', '.join(d.options)}")
        return raw
    if not isinstance(raw, list) or any(item not in d.options for item in raw):
        raise ValueError(f"expected a list of {', '.join(d.options)}")
    return list(dict.fromkeys(raw))


def validate(
    definitions: Sequence[Definition],
    values: Mapping[str, Any],
    category: str | None = None,
    *,
    existing: Mapping[str, Any] | None = None,
    only_public: bool = False,
) -> Checked:
    """Clean values for the given definitions; errors name `custom_fields.<key>`.

    `existing` (an update) is merged under `values`; a None value clears a field. Stored
    values of options removed since stay as they are (see `stale`).
    """
    by_key = {d.key: d for d in definitions if d.applies_to(category)}
    if only_public:
        by_key = {k: d for k, d in by_key.items() if d.public}
    checked = Checked(values=dict(existing or {}))
    for key, raw in values.items():
        path = f"custom_fields.{key}"
        d = by_key.get(key)
        if d is None:
            checked.errors.append((path, "no such custom field for this record"))
        elif raw is None:
            checked.values.pop(key, None)
        else:
            try:
                checked.values[key] = _value(d, raw)
            except ValueError as exc:
                checked.errors.append((path, str(exc)))
    for key, d in by_key.items():
        if d.required and checked.values.get(key) in (None, "", []):
            checked.errors.append((f"custom_fields.{key}", "this field is required"))
    return checked


def stale(definitions: Sequence[Definition], values: Mapping[str, Any]) -> dict[str, str]:
    """Stored values the definitions no longer allow, by key: still shown, flagged."""
    by_key = {d.key: d for d in definitions}
    flags: dict[str, str] = {}
    for key, value in values.items():
        d = by_key.get(key)
        if d is None or not d.active:
            flags[key] = "field_removed"
        elif _off_options(d, value):
            flags[key] = "option_removed"
    return flags


_TRUE = {"true", "1", "yes", "y", "是", "对", "√"}
_FALSE = {"false", "0", "no", "n", "否", "不", "×"}


def from_cell(d: Definition, cell: object) -> Any:
    """A spreadsheet cell as the JSON value `validate` expects (multiselect split on ; or ,)."""
    if isinstance(cell, float) and cell.is_integer() and d.type is not FieldType.NUMBER:
        cell = int(cell)  # numbers typed into text or select columns
    if d.type is FieldType.NUMBER and isinstance(cell, str):
        try:
            number = float(cell.strip())
        except ValueError:
            return cell
        return int(number) if number.is_integer() else number
    if d.type is FieldType.BOOL and not isinstance(cell, bool):
        text = str(cell).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else text
    if d.type is FieldType.DATE and isinstance(cell, date):
        return cell.isoformat()[:10]
    if d.type is FieldType.MULTISELECT:
        return [part.strip() for part in re.split(r"[;,；，]", str(cell)) if part.strip()]
    if d.type is FieldType.NUMBER:
        return cell
    return str(cell).strip()


def _off_options(d: Definition, value: Any) -> bool:
    if d.type is FieldType.SELECT:
        return value not in d.options
    if d.type is FieldType.MULTISELECT:
        return any(v not in d.options for v in value or [])
    return False


def filter_value(d: Definition, raw: str) -> dict[str, Any]:
    """The JSONB containment document matching `?cf.<key>=raw` (served by the GIN index)."""
    value: Any
    if d.type is FieldType.NUMBER:
        number = float(raw)
        value = int(number) if number.is_integer() else number
    elif d.type is FieldType.BOOL:
        if raw.lower() not in {"true", "false", "1", "0"}:
            raise ValueError("expected true or false")
        value = raw.lower() in {"true", "1"}
    elif d.type is FieldType.DATE:
        value = date.fromisoformat(raw).isoformat()
    elif d.type is FieldType.MULTISELECT:
        value = [raw]
    else:
        value = raw
    return {d.key: value}
