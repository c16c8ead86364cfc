"""Customer endpoints: thin — parse, authorize, call a service or the approval workflow."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, status
from sqlalchemy import select

from api.audit.admin_log import record_audit
from api.customers import access, approval, resubmit, service
from api.customers.access import views
from api.customers.import_endpoints import router as import_router
from api.customers.merge import merge_customers
from api.customers.schemas import (
    ApproveBody,
    BulkApproveBody,
    BulkApproveOut,
    CustomerCreate,
    CustomerEventOut,
    CustomerOut,
    CustomerPatch,
    InteractionCreate,
    InteractionOut,
    MergeBody,
    MergeOut,
    ResubmitBody,
)
from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from api.schema_rules import ID_MAX
from api.tickets.schemas import TicketOut
from api.tickets.service import scope_filter as ticket_scope
from api.tickets.service import ticket_view
from core import pii
from core.errors import Invalid
from domain.custom_fields import Entity
from domain.customers import (
    Approval,
    CustomerSegment,
    CustomerStage,
    CustomerTier,
    normalize_phone,
)
from models import Customer, CustomerContact, CustomerEvent, CustomerInteraction, Ticket
from services.custom_fields import service as custom_fields
from workflows.customer_approval import DecideInput

router = APIRouter(prefix="/customers", tags=["customers"])
# Before /{customer_id}: the import paths must win over the id pattern.
router.include_router(import_router)

IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, min_length=1)
]
_CODE = re.compile(r"CUS\d{11,}", re.IGNORECASE)


async def _one(session: SessionDep, caller: CurrentUser, customer: Customer) -> CustomerOut:
    return (await views(session, [customer], caller))[0]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
async def create_customer(
    body: CustomerCreate,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CustomerOut:
    """Create a customer; an agent's waits for a manager's approval."""
    customer, created = await service.create_idempotent(
        session, caller, body, idempotency_key, settings.timezone
    )
    if created:
        await approval.start_approvals(client, settings, [customer])
    return await _one(session, caller, customer)


@router.get("", response_model=Page[CustomerOut])
async def list_customers(
    request: Request,
    caller: CurrentUser,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    tier: CustomerTier | None = None,
    segment: CustomerSegment | None = None,
    stage: CustomerStage | None = None,
    owner_id: Annotated[int | None, Query(ge=1)] = None,
    approval_: Annotated[Approval | None, Query(alias="approval")] = None,
    include_merged: bool = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[CustomerOut]:
    """Newest first within the caller's scope: code, name (partial), phone, tag, `cf.<key>` …"""
    query = select(Customer).where(
        *await custom_fields.filter_clauses(
            session, Entity.CUSTOMER, Customer.custom_fields, request.query_params
        )
    )
    condition = access.read_scope(caller)
    if condition is not None:
        query = query.where(condition)
    if not include_merged:
        query = query.where(Customer.merged_into_id.is_(None))
    filters = {
        Customer.tier: tier,
        Customer.segment: segment,
        Customer.stage: stage,
        Customer.owner_id: owner_id,
        Customer.approval: approval_,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if tag:
        query = query.where(Customer.tags.contains([tag]))
    if phone:
        try:
            normalized = normalize_phone(phone)
        except ValueError as exc:
            raise Invalid("query.phone", str(exc)) from exc
        bidx = pii.normalized_phone_index(normalized)
        query = query.where(
            Customer.id.in_(
                select(CustomerContact.customer_id).where(CustomerContact.phone_bidx == bidx)
            )
        )
    if q:
        if _CODE.fullmatch(q.strip()):
            query = query.where(Customer.code == q.strip().upper())
        else:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            # ILIKE on the trigram-indexed name: partial and Chinese names.
            query = query.where(Customer.name.ilike(pattern))
    rows, next_cursor = await fetch_page(
        session, query, Customer.id, limit, cursor, newest_first=True
    )
    return Page(items=await views(session, rows, caller), next_cursor=next_cursor)


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: int, caller: CurrentUser, session: SessionDep) -> CustomerOut:
    """One customer with its contacts and tags."""
    return await _one(session, caller, await access.get_customer(session, caller, customer_id))


@router.patch("/{customer_id}", response_model=CustomerOut)
async def patch_customer(
    customer_id: int, body: CustomerPatch, caller: CurrentUser, session: SessionDep
) -> CustomerOut:
    """Change profile fields; stage moves follow lead → intention → deal (or lost)."""
    customer = await access.get_customer(session, caller, customer_id, edit=True)
    await service.patch_customer(session, caller, customer, body)
    await session.commit()
    return await _one(session, caller, customer)


@router.get("/{customer_id}/events", response_model=list[CustomerEventOut])
async def customer_events(
    customer_id: int, caller: CurrentUser, session: SessionDep
) -> list[CustomerEvent]:
    """The audit trail: created, updated, stage_changed, approved, rejected, merged …"""
    await access.get_customer(session, caller, customer_id)
    rows = await session.scalars(
        select(CustomerEvent)
        .where(CustomerEvent.customer_id == customer_id)
        .order_by(CustomerEvent.id)
    )
    return list(rows)


@router.get("/{customer_id}/tickets", response_model=Page[TicketOut])
async def customer_tickets(
    customer_id: int,
    caller: CurrentUser,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[TicketOut]:
    """The customer's tickets the caller may see, newest first."""
    await access.get_customer(session, caller, customer_id)
    query = select(Ticket).where(Ticket.customer_id == customer_id)
    condition = ticket_scope(caller)
    if condition is not None:
        query = query.where(condition)
    rows, next_cursor = await fetch_page(
        session, query, Ticket.id, limit, cursor, newest_first=True
    )
    return Page(
        items=[ticket_view(t, caller, session=session) for t in rows], next_cursor=next_cursor
    )


@router.post("/{customer_id}/approve", response_model=CustomerOut)
async def approve_customer(
    customer_id: Annotated[int, Path(ge=1, le=ID_MAX)],
    body: ApproveBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> CustomerOut:
    """A manager of the owner's department (or an admin) approves or rejects with a reason."""
    customer = await access.get_customer(session, caller, customer_id)
    approval.check_decider(caller, customer)
    decision = DecideInput(
        decision=body.decision, reason=body.reason, actor=caller.actor, actor_id=caller.user_id
    )
    await approval.decide(client, settings, customer, decision)
    await session.refresh(customer)
    return await _one(session, caller, customer)


@router.post("/{customer_id}/resubmit", response_model=CustomerOut)
async def resubmit_customer(
    customer_id: int,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    body: ResubmitBody | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CustomerOut:
    """Send a rejected customer back for approval (owner, department manager, admin)."""
    customer = await access.get_customer(session, caller, customer_id, edit=True)
    note = body.note if body else None
    fresh = await resubmit.resubmit(session, caller, customer, note, idempotency_key)
    await approval.restart_approval(client, settings, customer, fresh=fresh)
    return await _one(session, caller, customer)


@router.post("/approve", response_model=BulkApproveOut)
async def approve_many(
    body: BulkApproveBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> BulkApproveOut:
    """One decision for many pending customers; ids not decided are listed with the reason."""
    return await approval.decide_many(
        session, client, settings, caller, body.customer_ids, body.decision, body.reason
    )


@router.post("/merge", response_model=MergeOut)
async def merge(body: MergeBody, caller: CurrentUser, session: SessionDep) -> MergeOut:
    """Fold duplicates into the target: contacts, tags, interactions, tickets and plans."""
    summary = await merge_customers(session, caller, body.target_id, body.source_ids)
    data = {"source_ids": body.source_ids}
    await record_audit(session, caller, "customer.merge", "customer", body.target_id, data)
    await session.commit()
    target = await access.get_customer(session, caller, body.target_id)
    return MergeOut(target=await _one(session, caller, target), merged=summary)


@router.post(
    "/{customer_id}/interactions",
    status_code=status.HTTP_201_CREATED,
    response_model=InteractionOut,
)
async def log_interaction(
    customer_id: int,
    body: InteractionCreate,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CustomerInteraction:
    """Log a call, visit, email or meeting; resets the customer's follow-up cadence."""
    customer = await access.get_customer(session, caller, customer_id, edit=True)
    interaction = await service.log_interaction(session, caller, customer, body, idempotency_key)
    await session.commit()
    await service.signal_follow_up_plans(session, client, customer.id, interaction.at)
    return interaction


@router.get("/{customer_id}/interactions", response_model=Page[InteractionOut])
async def list_interactions(
    customer_id: int,
    caller: CurrentUser,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[InteractionOut]:
    """The interaction log, newest first."""
    await access.get_customer(session, caller, customer_id)
    query = select(CustomerInteraction).where(CustomerInteraction.customer_id == customer_id)
    rows, next_cursor = await fetch_page(
        session, query, CustomerInteraction.id, limit, cursor, newest_first=True
    )
    return Page(items=[InteractionOut.model_validate(r) for r in rows], next_cursor=next_cursor)
