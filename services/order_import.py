"""Order import: a CSV of purchases, written all or nothing, each order once by its number."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from domain.reports.order_rows import ORDER_COLUMNS, OrderRow, RowProblem, parse_order_row
from models import Customer
from services.orders import OrderConflict, create_order

MAX_ROWS = 50_000


class ImportRejected(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = list(problems)


@dataclass
class ImportResult:
    created: int = 0
    unchanged: int = 0
    order_ids: list[int] = field(default_factory=list)


def read_rows(data: bytes) -> list[OrderRow]:
    """Decode (UTF-8 with or without BOM, else GB18030) and validate every row."""
    try:
        return _read_rows(data)
    except csv.Error as exc:
        raise ImportRejected([RowProblem(0, "file", f"not a readable CSV file: {exc}")]) from exc


def _read_rows(data: bytes) -> list[OrderRow]:
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = data.decode("gb18030", errors="replace")
    reader = csv.DictReader(io.StringIO(content))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ORDER_COLUMNS[:4] if c not in header]
    if missing:
        raise ImportRejected([RowProblem(1, c, "missing column") for c in missing])
    reader.fieldnames = header
    rows: list[OrderRow] = []
    problems: list[RowProblem] = []
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise ImportRejected([RowProblem(number, "file", f"at most {MAX_ROWS} rows")])
        parsed = parse_order_row(number, raw)
        if isinstance(parsed, list):
            problems += parsed
        else:
            rows.append(parsed)
    if problems:
        raise ImportRejected(problems)
    return rows


async def import_orders(
    session: AsyncSession,
    rows: Sequence[OrderRow],
    editable: ColumnElement[bool] | None,
    user_id: int,
) -> ImportResult:
    """Insert every row (source `import`) in the caller's transaction; problems reject all."""
    codes = sorted({r.customer_code for r in rows})
    query = select(Customer.code, Customer.id).where(Customer.code.in_(codes))
    if editable is not None:
        query = query.where(editable)
    ids: dict[str, int] = {row.code: row.id for row in await session.execute(query)}
    problems = [
        RowProblem(r.row, "customer_code", f"no customer {r.customer_code} you may change")
        for r in rows
        if r.customer_code not in ids
    ]
    if problems:
        raise ImportRejected(problems)
    result = ImportResult()
    for r in rows:
        try:
            order, created = await create_order(
                session,
                customer_id=ids[r.customer_code],
                order_no=r.order_no,
                amount=r.amount,
                ordered_on=r.ordered_on,
                currency=r.currency,
                source="import",
                created_by=user_id,
            )
        except OrderConflict:
            problems.append(RowProblem(r.row, "order_no", "taken by a different order"))
            continue
        result.order_ids.append(order.id)
        if created:
            result.created += 1
        else:
            result.unchanged += 1
    if problems:
        raise ImportRejected(problems)
    return result
