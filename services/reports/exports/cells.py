"""One rendering of a report cell, shared by every export so files equal the JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

LIST_SEPARATOR = "|"


def cell_text(value: Any) -> str:
    """A JSON value as CSV/PDF text: lists joined by '|', None empty, dicts as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(cell_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


MONEY_COLUMNS = frozenset({"monetary"})


def cell_typed(value: Any, column: str) -> Any:
    """A JSON value as a typed spreadsheet cell: numbers stay numbers, money a Decimal."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if column in MONEY_COLUMNS and isinstance(value, str):
        return Decimal(value)
    if isinstance(value, str):
        return value
    return cell_text(value)
