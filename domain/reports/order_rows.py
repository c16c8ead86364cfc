"""Rows of an order import file: validated one by one, every problem named by row and field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

ORDER_COLUMNS = ("customer_code", "order_no", "amount", "ordered_on", "currency")
REQUIRED = ("customer_code", "order_no", "amount", "ordered_on")
_ORDER_NO = re.compile(r"^[A-Za-z0-9_\-./]{1,64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass(frozen=True)
class OrderRow:
    row: int
    customer_code: str
    order_no: str
    amount: Decimal
    ordered_on: date
    currency: str


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    message: str


def parse_order_row(row: int, raw: Mapping[str, str | None]) -> OrderRow | list[RowProblem]:
    """One data row (numbered from 2, after the header) or the problems it has."""
    text = {k: (raw.get(k) or "").strip() for k in ORDER_COLUMNS}
    problems = [RowProblem(row, k, "required") for k in REQUIRED if not text[k]]
    if problems:
        return problems
    if not _ORDER_NO.match(text["order_no"]):
        problems.append(RowProblem(row, "order_no", "letters, digits and - _ . / only"))
    try:
        amount = Decimal(text["amount"])
        if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
            raise InvalidOperation
        if amount != amount.quantize(Decimal("0.01")):
            problems.append(RowProblem(row, "amount", "at most two decimals"))
    except InvalidOperation:
        problems.append(RowProblem(row, "amount", "a non-negative decimal like 1999.90"))
        amount = Decimal(0)
    try:
        ordered_on = date.fromisoformat(text["ordered_on"])
    except ValueError:
        problems.append(RowProblem(row, "ordered_on", "a date like 2025-09-30"))
        ordered_on = date.min
    currency = text["currency"] or "CNY"
    if not _CURRENCY.match(currency):
        problems.append(RowProblem(row, "currency", "a three-letter code like CNY"))
    if problems:
        return problems
    return OrderRow(row, text["customer_code"], text["order_no"], amount, ordered_on, currency)
