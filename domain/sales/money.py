"""Quote money as Decimal: line amounts, discounts and totals rounded half-up to the fen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
HUNDRED = Decimal(100)


def to_fen(value: Decimal) -> Decimal:
    """Round half-up to two decimal places (0.005 → 0.01)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineAmounts:
    """One priced line: gross = quantity × unit price, less its rounded discount."""

    gross: Decimal
    discount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class QuoteTotals:
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    max_discount_pct: Decimal
    # The whole quote's discount as a share of its subtotal, in percent (two places).
    overall_discount_pct: Decimal


def price_line(line: LineInput) -> LineAmounts:
    """Each line is rounded on its own so the printed lines add up to the printed total."""
    gross = to_fen(line.quantity * line.unit_price)
    discount = to_fen(gross * line.discount_pct / HUNDRED)
    return LineAmounts(gross=gross, discount=discount, amount=gross - discount)


def quote_totals(lines: Sequence[LineInput]) -> QuoteTotals:
    """Subtotal, discounts and total of a quote; never a float on the way."""
    priced = tuple(price_line(line) for line in lines)
    subtotal = sum((p.gross for p in priced), Decimal("0.00"))
    discount_total = sum((p.discount for p in priced), Decimal("0.00"))
    overall = to_fen(discount_total * HUNDRED / subtotal) if subtotal else Decimal("0.00")
    return QuoteTotals(
        lines=priced,
        subtotal=subtotal,
        discount_total=discount_total,
        total=subtotal - discount_total,
        max_discount_pct=max((line.discount_pct for line in lines), default=Decimal(0)),
        overall_discount_pct=overall,
    )


def money_text(value: Decimal) -> str:
    """The JSON form of an amount: a decimal string with two places."""
    return str(to_fen(value))
