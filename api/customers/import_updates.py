"""Import rows that carry an existing customer code update that customer's profile."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from api.customers.service import add_event
from api.deps import Principal
from domain.customer_import import CustomerDraft
from domain.customers import (
    PROFILE_FIELDS,
    CustomerStage,
    stage_transition_error,
    union_tags,
)
from models import Customer

# Profile columns an import row may change; empty cells leave the stored value alone.
UPDATABLE = tuple(name for name in PROFILE_FIELDS if name != "tags")  # tags are merged


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def _changes(customer: Customer, draft: CustomerDraft) -> dict[str, Any]:
    changes = {
        name: _plain(getattr(draft, name))
        for name in UPDATABLE
        if name in draft.given and _plain(getattr(draft, name)) != _plain(getattr(customer, name))
    }
    tags = union_tags(customer.tags or [], draft.tags)
    if tags != list(customer.tags or []):
        changes["tags"] = tags
    return changes


async def apply_updates(
    session: AsyncSession,
    principal: Principal,
    scope: ColumnElement[bool] | None,
    rows: list[tuple[int, CustomerDraft]],
    dry_run: bool,
) -> tuple[int, list[dict[str, Any]]]:
    """(customers changed, row errors); rows naming a code outside the caller's scope fail."""
    query = select(Customer).where(Customer.code.in_({d.code for _, d in rows}))
    if scope is not None:
        query = query.where(scope)
    by_code = {c.code: c for c in await session.scalars(query)}
    updated, errors = 0, []
    now = datetime.now(UTC)
    for number, draft in rows:
        customer = by_code.get(draft.code or "")
        if customer is None or customer.merged_into_id is not None:
            message = f"no customer {draft.code} you may change"
            errors.append({"row": number, "field": "code", "message": message})
            continue
        changes = _changes(customer, draft)
        if "stage" in changes:
            error = stage_transition_error(
                CustomerStage(customer.stage), CustomerStage(changes["stage"])
            )
            if error:
                errors.append({"row": number, "field": "stage", "message": error})
                continue
        if not changes:
            continue
        updated += 1
        if dry_run:
            continue
        for name in changes:
            setattr(customer, name, getattr(draft, name) if name != "tags" else changes[name])
        customer.updated_at = now
        add_event(
            session, customer.id, "updated", principal.actor, {"via": "import", "changes": changes}
        )
    await session.flush()
    return updated, errors
