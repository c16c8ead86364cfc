"""Follow-up plan endpoints: thin — parse, authorize, start or update the plan workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, status
from sqlalchemy import and_, literal, select

from api.deps import CurrentUser, ManagerOrAdmin, SessionDep, SettingsDep, TemporalDep
from api.followups import service
from api.followups.schemas import (
    PlanActionBody,
    PlanCreate,
    PlanEventOut,
    PlanOut,
    PushOut,
    UpgradeReminderBody,
    UpgradeReminderOut,
)
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from api.tickets.service import request_fingerprint
from core.errors import NotFound
from domain.cadence import PlanStatus
from domain.notify import PUSH_NOTICE_PREFIX, PUSH_RECIPIENT_PREFIX
from models import ContactPush, FollowUpEvent, FollowUpPlan, Notification
from workflows.followup_types import NewPlan, PlanAction

router = APIRouter(prefix="/follow-up-plans", tags=["follow-up plans"])

PlanId = Annotated[int, Path(ge=1, lt=2**63)]
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, min_length=1)
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlanOut)
async def create_plan(
    body: PlanCreate,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> FollowUpPlan:
    """Start a durable plan for a customer; without `cadence` it follows tier/segment rules."""
    customer, owner_id = await service.check_new_plan(session, caller, body)
    fingerprint = request_fingerprint(body)
    plan_id = await service.reserve_plan_id(session, caller, idempotency_key, fingerprint)
    if await session.get(FollowUpPlan, plan_id) is None:
        new = NewPlan(
            plan_id=plan_id,
            customer_id=customer.id,
            owner_id=owner_id,
            cadence=body.cadence,
            priority=body.priority,
            channels=body.channels,
            grace_period=body.grace_period,
            birthday_lead_days=body.birthday_lead_days,
            timezone=settings.timezone,
            actor=caller.actor,
            created_by=caller.user_id,
        )
        await service.start_plan(client, settings, new)
    return await service.get_plan(session, caller, plan_id)


@router.get("", response_model=Page[PlanOut])
async def list_plans(
    caller: CurrentUser,
    session: SessionDep,
    status_: Annotated[PlanStatus | None, Query(alias="status")] = None,
    customer_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    owner_id: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
    due_before: datetime | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[PlanOut]:
    """Newest first within the caller's scope; `due_before` finds what needs a touch."""
    query = select(FollowUpPlan)
    condition = service.plan_scope(caller)
    if condition is not None:
        query = query.where(condition)
    if status_ is not None:
        query = query.where(FollowUpPlan.status == status_.value)
    if customer_id is not None:
        query = query.where(FollowUpPlan.customer_id == customer_id)
    if owner_id is not None:
        query = query.where(FollowUpPlan.owner_id == owner_id)
    if due_before is not None:
        query = query.where(FollowUpPlan.next_due_at < due_before)
    rows, next_cursor = await fetch_page(
        session, query, FollowUpPlan.id, limit, cursor, newest_first=True
    )
    return Page(items=[PlanOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/upgrade-reminders", response_model=UpgradeReminderOut)
async def upgrade_reminders(
    body: UpgradeReminderBody, caller: ManagerOrAdmin, session: SessionDep, client: TemporalDep
) -> UpgradeReminderOut:
    """Remind the owners of customers tagged `tag` about a product upgrade (once per product)."""
    sent = await service.signal_upgrade(session, client, caller, body)
    return UpgradeReminderOut(plans_signalled=sent)


@router.get("/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: PlanId, caller: CurrentUser, session: SessionDep) -> FollowUpPlan:
    return await service.get_plan(session, caller, plan_id)


@router.get("/{plan_id}/events", response_model=list[PlanEventOut])
async def plan_events(
    plan_id: PlanId, caller: CurrentUser, session: SessionDep
) -> list[FollowUpEvent]:
    """The ordered timeline: created, reminder_sent, escalated, touch_logged, paused, …"""
    await service.get_plan(session, caller, plan_id)
    rows = await session.scalars(
        select(FollowUpEvent).where(FollowUpEvent.plan_id == plan_id).order_by(FollowUpEvent.seq)
    )
    return list(rows)


async def _act(
    update_name: str,
    plan_id: int,
    body: PlanActionBody,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> FollowUpPlan:
    plan = await service.get_plan(session, caller, plan_id)
    action = PlanAction(actor=caller.actor, reason=body.reason)
    await service.run_action(client, settings, plan, update_name, action)
    await session.commit()  # end the read transaction: the workflow has just written the row
    return await service.get_plan(session, caller, plan_id)


@router.post("/{plan_id}/pause", response_model=PlanOut)
async def pause_plan(
    plan_id: PlanId,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    body: PlanActionBody | None = None,
) -> FollowUpPlan:
    """Stop reminders and care tasks until resumed (409 unless active)."""
    body = body or PlanActionBody()
    return await _act("pause", plan_id, body, caller, session, client, settings)


@router.post("/{plan_id}/resume", response_model=PlanOut)
async def resume_plan(
    plan_id: PlanId,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    body: PlanActionBody | None = None,
) -> FollowUpPlan:
    """Back to active; a due that passed while paused is reminded at once (409 unless paused)."""
    body = body or PlanActionBody()
    return await _act("resume", plan_id, body, caller, session, client, settings)


@router.post("/{plan_id}/cancel", response_model=PlanOut)
async def cancel_plan(
    plan_id: PlanId,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    body: PlanActionBody | None = None,
) -> FollowUpPlan:
    """End the plan for good (409 once cancelled or completed)."""
    body = body or PlanActionBody()
    return await _act("cancel", plan_id, body, caller, session, client, settings)


@router.get("/{plan_id}/pushes", response_model=list[PushOut])
async def plan_pushes(plan_id: PlanId, caller: CurrentUser, session: SessionDep) -> list[PushOut]:
    """Automatic pushes this plan sent to the customer, newest first, with their delivery."""
    await service.get_plan(session, caller, plan_id)
    notice = and_(
        Notification.idempotency_key == literal(PUSH_NOTICE_PREFIX) + ContactPush.idempotency_key,
        Notification.recipient.startswith(PUSH_RECIPIENT_PREFIX),
    )
    rows = await session.execute(
        select(ContactPush, Notification.status, Notification.error)
        .outerjoin(Notification, notice)
        .where(ContactPush.plan_id == plan_id)
        .order_by(ContactPush.id.desc())
    )
    return [
        PushOut.model_validate(push).model_copy(update={"delivery": state, "delivery_error": err})
        for push, state, err in rows
    ]


@router.post("/{plan_id}/pushes/{push_id}/opened", response_model=PushOut)
async def push_opened(
    plan_id: PlanId,
    push_id: Annotated[int, Path(ge=1, lt=2**63)],
    caller: CurrentUser,
    session: SessionDep,
) -> ContactPush:
    """Record a tracked-link hit or reply: the customer engaged, so paused channels resume."""
    await service.get_plan(session, caller, plan_id)
    await service.mark_pushes_opened(session, [push_id], plan_id=plan_id)
    await session.commit()
    push = await session.scalar(
        select(ContactPush).where(ContactPush.id == push_id, ContactPush.plan_id == plan_id)
    )
    if push is None:
        raise NotFound(f"push {push_id} not found on plan {plan_id}")
    return push
