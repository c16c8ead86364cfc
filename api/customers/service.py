"""Customer services: codes, create/update with idempotency, interactions and plan signals."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.customers.schemas import (
    ContactIn,
    CustomerCreate,
    CustomerPatch,
    InteractionCreate,
)
from api.deps import Principal
from api.tickets.service import request_fingerprint
from core import pii
from core.errors import Conflict, Forbidden, Invalid, NotFound
from domain.custom_fields import Entity
from domain.customers import (
    PROFILE_FIELDS,
    CustomerStage,
    format_customer_code,
    initial_approval,
    stage_transition_error,
)
from models import (
    Customer,
    CustomerContact,
    CustomerCounter,
    CustomerEvent,
    CustomerInteraction,
    IdempotencyKey,
    User,
)
from services.custom_fields import service as custom_fields

log = logging.getLogger("closedloop.customers")


async def allocate_codes(session: AsyncSession, tz: str, count: int = 1) -> list[str]:
    """`count` consecutive CUSyyyymmddNNN codes for today's local date; atomic."""
    today = datetime.now(ZoneInfo(tz)).date()
    last = await session.scalar(
        insert(CustomerCounter)
        .values(day=today, last=count)
        .on_conflict_do_update(
            index_elements=[CustomerCounter.day], set_={"last": CustomerCounter.last + count}
        )
        .returning(CustomerCounter.last)
    )
    assert last is not None
    return [format_customer_code(today, seq) for seq in range(last - count + 1, last + 1)]


# --- create / update -------------------------------------------------------------------


async def resolve_owner(
    session: AsyncSession, principal: Principal, owner_id: int | None
) -> tuple[int, int | None]:
    """(owner id, department id): agents own what they create; managers within their dept."""
    owner_id = owner_id or principal.user_id
    if principal.role == "agent" and owner_id != principal.user_id:
        raise Forbidden("agents may only own customers themselves")
    owner = await session.get(User, owner_id)
    if owner is None or not owner.is_active:
        raise Invalid("body.owner_id", f"user {owner_id} does not exist or is inactive")
    if principal.role == "manager" and owner.department_id != principal.department_id:
        raise Forbidden("managers assign customers within their own department")
    return owner.id, owner.department_id


def contact_rows(customer_id: int, contacts: Sequence[ContactIn]) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": customer_id,
            "name": pii.seal_opt(c.name),
            "title": c.title,
            "phone": pii.seal_opt(c.phone),
            "phone_bidx": pii.phone_index(c.phone),
            "email": pii.seal_opt(c.email),
            "email_bidx": pii.email_index(c.email),
            "is_primary": c.primary,
        }
        for c in contacts
    ]


def add_event(
    session: AsyncSession, customer_id: int, type_: str, actor: str, data: dict[str, Any]
) -> None:
    session.add(
        CustomerEvent(
            customer_id=customer_id, at=datetime.now(UTC), type=type_, actor=actor, data=data
        )
    )


async def create_customer(
    session: AsyncSession, principal: Principal, body: CustomerCreate, tz: str
) -> Customer:
    """Insert the customer, its contacts and its `created` event (caller commits)."""
    owner_id, department_id = await resolve_owner(session, principal, body.owner_id)
    (code,) = await allocate_codes(session, tz)
    now = datetime.now(UTC)
    values = await custom_fields.checked_values(session, Entity.CUSTOMER, body.custom_fields)
    customer = Customer(
        code=code,
        custom_fields=values,
        **{name: getattr(body, name) for name in PROFILE_FIELDS},
        owner_id=owner_id,
        department_id=department_id,
        approval=initial_approval(principal.role).value,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    await session.flush()
    if body.contacts:
        await session.execute(insert(CustomerContact), contact_rows(customer.id, body.contacts))
    data = {"code": code, "owner_id": owner_id, "approval": customer.approval}
    add_event(session, customer.id, "created", principal.actor, data)
    return customer


async def create_idempotent(
    session: AsyncSession,
    principal: Principal,
    body: CustomerCreate,
    key: str | None,
    tz: str,
) -> tuple[Customer, bool]:
    """(customer, created now): a repeat with the same Idempotency-Key returns the first."""
    scope = f"customers:user:{principal.user_id}"
    fingerprint = request_fingerprint(body)
    for _ in range(2):
        if key is not None:
            seen = await session.get(IdempotencyKey, (scope, key), populate_existing=True)
            if seen is not None:
                if seen.request_hash != fingerprint:
                    raise Conflict(
                        "Idempotency-Key was already used with a different body",
                        code="idempotency_key_reused",
                    )
                first = await session.scalar(select(Customer).where(Customer.code == seen.resource))
                if first is None:
                    raise NotFound("the customer created with this Idempotency-Key is gone")
                return first, False
        customer = await create_customer(session, principal, body, tz)
        if key is None:
            await session.commit()
            return customer, True
        remembered = await session.scalar(
            insert(IdempotencyKey)
            .values(scope=scope, key=key, request_hash=fingerprint, resource=customer.code)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.resource)
        )
        if remembered is not None:
            await session.commit()
            return customer, True
        await session.rollback()  # a concurrent request with this key won: answer with its result
    raise Conflict("Idempotency-Key is being used concurrently; retry")


async def patch_customer(
    session: AsyncSession, principal: Principal, customer: Customer, body: CustomerPatch
) -> None:
    """Apply the given fields; stage moves follow the lifecycle (409 otherwise)."""
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        if name in given:
            value = getattr(body, name)
            if value is None and name in {"name", "type", "tier", "stage", "tags"}:
                raise Invalid(f"body.{name}", f"{name} cannot be null")
            if value != getattr(customer, name):
                changes[name] = value
    if "custom_fields" in given and body.custom_fields is not None:
        merged = await custom_fields.checked_values(
            session,
            Entity.CUSTOMER,
            body.custom_fields,
            existing=customer.custom_fields,
            creating=False,
        )
        if merged != customer.custom_fields:
            changes["custom_fields"] = merged
    if "stage" in changes:
        error = stage_transition_error(CustomerStage(customer.stage), changes["stage"])
        if error:
            raise Conflict(error, code="transition_not_allowed")
        add_event(
            session,
            customer.id,
            "stage_changed",
            principal.actor,
            {"from": customer.stage, "to": changes["stage"].value},
        )
    if "owner_id" in given and body.owner_id is not None and body.owner_id != customer.owner_id:
        if principal.role == "agent":
            raise Forbidden("agents may not hand customers over")
        changes["owner_id"], changes["department_id"] = await resolve_owner(
            session, principal, body.owner_id
        )
    if "contacts" in given and body.contacts is not None:
        await session.execute(
            delete(CustomerContact).where(CustomerContact.customer_id == customer.id)
        )
        if body.contacts:
            await session.execute(insert(CustomerContact), contact_rows(customer.id, body.contacts))
        changes["contacts"] = len(body.contacts)
    if not changes:
        return
    for name, value in changes.items():
        if name != "contacts":
            setattr(customer, name, value)
    customer.updated_at = datetime.now(UTC)
    logged = {k: (v if not isinstance(v, date) else v.isoformat()) for k, v in changes.items()}
    add_event(session, customer.id, "updated", principal.actor, {"changes": logged})


# --- interactions ----------------------------------------------------------------------


async def log_interaction(
    session: AsyncSession,
    principal: Principal,
    customer: Customer,
    body: InteractionCreate,
    idempotency_key: str | None,
) -> CustomerInteraction:
    """Insert once per Idempotency-Key and move last_contact_at forward (caller commits)."""
    key = f"user:{principal.user_id}:{idempotency_key}" if idempotency_key else None
    if key is not None:
        existing = await session.scalar(
            select(CustomerInteraction).where(CustomerInteraction.idempotency_key == key)
        )
        if existing is not None:
            if existing.customer_id != customer.id:
                raise Conflict("Idempotency-Key was already used", code="idempotency_key_reused")
            return existing
    at = body.at or datetime.now(UTC)
    interaction = CustomerInteraction(
        customer_id=customer.id,
        kind=body.kind.value,
        at=at,
        summary=body.summary,
        customer_feedback=body.customer_feedback,
        next_step=body.next_step,
        next_follow_up_at=body.next_follow_up_at,
        created_by=principal.user_id,
        idempotency_key=key,
    )
    session.add(interaction)
    await session.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(last_contact_at=func.greatest(func.coalesce(Customer.last_contact_at, at), at))
    )
    await session.flush()
    return interaction


async def table_exists(session: AsyncSession, name: str) -> bool:
    """Whether an optional table (built by another feature) is present."""
    return bool(await session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}))


async def signal_follow_up_plans(
    session: AsyncSession, client: Client, customer_id: int, at: datetime
) -> int:
    """Tell the customer's live follow-up plans a touch was logged; returns plans signalled."""
    if not await table_exists(session, "follow_up_plans"):
        return 0
    plan_ids = list(
        await session.scalars(
            text(
                "SELECT id FROM follow_up_plans WHERE customer_id = :cid "
                "AND status NOT IN ('cancelled', 'canceled', 'completed')"
            ),
            {"cid": customer_id},
        )
    )
    signalled = 0
    for plan_id in plan_ids:
        handle = client.get_workflow_handle(f"plan-{plan_id}")
        try:
            await handle.signal("interaction_logged", {"at": at.isoformat()})
            signalled += 1
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                # The interaction is stored; the plan catches up from Postgres on its next due.
                log.warning("could not signal plan-%s: %s", plan_id, exc)
    return signalled
