"""Merging duplicate customers into one: contacts, tags, interactions, tickets and plans."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.customers.access import read_scope
from api.customers.service import add_event, table_exists
from api.deps import Principal
from core.errors import Conflict, Forbidden, NotFound
from domain.customers import ContactKey, plan_contact_merge, union_tags
from models import Customer, CustomerContact, CustomerInteraction, Ticket


def _check_merger(principal: Principal, customers: list[Customer]) -> None:
    """Admins merge anything; managers only customers all in their own department."""
    if principal.is_admin:
        return
    if principal.role != "manager" or any(
        c.department_id != principal.department_id for c in customers
    ):
        raise Forbidden("merging needs an admin or a manager of every customer's department")


async def merge_customers(
    session: AsyncSession, principal: Principal, target_id: int, source_ids: list[int]
) -> dict[str, Any]:
    """Fold the sources into the target in one transaction (caller commits); the summary."""
    ids = sorted([target_id, *source_ids])
    query = select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id).with_for_update()
    condition = read_scope(principal)
    if condition is not None:
        query = query.where(condition)
    found = {c.id: c for c in await session.scalars(query)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"customer {missing[0]} not found")
    target, sources = found[target_id], [found[i] for i in source_ids]
    _check_merger(principal, [target, *sources])
    for customer in [target, *sources]:
        if customer.merged_into_id is not None:
            raise Conflict(
                f"customer {customer.code} was already merged into {customer.merged_into_id}",
                code="customer_merged",
            )

    contacts = list(
        await session.scalars(
            select(CustomerContact)
            .where(CustomerContact.customer_id.in_(ids))
            .order_by(CustomerContact.customer_id != target_id, CustomerContact.id)
        )
    )
    # Duplicates by blind index: equal normalized phone or email, never compared in clear.
    keys = [ContactKey(c.id, c.phone_bidx, c.email_bidx) for c in contacts]
    on_target = [k for k, c in zip(keys, contacts, strict=True) if c.customer_id == target_id]
    on_sources = [k for k, c in zip(keys, contacts, strict=True) if c.customer_id != target_id]
    move, drop = plan_contact_merge(on_target, on_sources)
    if move:
        has_primary = any(c.is_primary for c in contacts if c.customer_id == target_id)
        await session.execute(
            update(CustomerContact)
            .where(CustomerContact.id.in_(move))
            .values(customer_id=target_id, is_primary=False)
        )
        if not has_primary:
            await session.execute(
                update(CustomerContact).where(CustomerContact.id == move[0]).values(is_primary=True)
            )

    moved_interactions = await _repoint(
        session, CustomerInteraction.__tablename__, target_id, source_ids
    )
    moved_tickets = await _repoint(session, Ticket.__tablename__, target_id, source_ids)
    moved_plans = 0
    if await table_exists(session, "follow_up_plans"):
        moved_plans = await _repoint(session, "follow_up_plans", target_id, source_ids)

    now = datetime.now(UTC)
    contacted = [c.last_contact_at for c in [target, *sources] if c.last_contact_at]
    target.tags = union_tags(target.tags or [], *[s.tags or [] for s in sources])
    target.last_contact_at = max(contacted) if contacted else None
    target.updated_at = now
    for source in sources:
        source.merged_into_id = target_id
        source.updated_at = now
        add_event(session, source.id, "merged_into", principal.actor, {"target_id": target_id})
    summary = {
        "source_ids": source_ids,
        "contacts_moved": len(move),
        "contacts_duplicate": len(drop),
        "interactions_moved": moved_interactions,
        "tickets_moved": moved_tickets,
        "plans_moved": moved_plans,
    }
    add_event(session, target_id, "merged", principal.actor, summary)
    await session.flush()
    return summary


async def _repoint(session: AsyncSession, table: str, target_id: int, source_ids: list[int]) -> int:
    """UPDATE <table> SET customer_id = target for the sources' rows; the row count."""
    result = await session.execute(
        text(f"UPDATE {table} SET customer_id = :target WHERE customer_id = ANY(:sources)"),
        {"target": target_id, "sources": source_ids},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
