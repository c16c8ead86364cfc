"""Follow-up plan services: scoping, validation, idempotent start, workflow updates."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import Principal
from api.followups.schemas import PlanCreate, UpgradeReminderBody
from core.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from core.settings import Settings
from core.temporal import start_until_created
from domain.cadence import LIVE_STATUSES
from models import ContactPush, Customer, FollowUpPlan, IdempotencyKey, User
from workflows.followup import FollowUpPlanWorkflow, plan_workflow_id
from workflows.followup_types import (
    NewPlan,
    PlanAction,
    PlanResult,
    PlanWorkflowInput,
    UpgradeAvailable,
)

log = logging.getLogger("closedloop.followups")
LIVE = [status.value for status in LIVE_STATUSES]


def plan_scope(principal: Principal) -> ColumnElement[bool] | None:
    """Plans the caller may see: admins all, managers their department's owners', agents own."""
    if principal.is_admin:
        return None
    if principal.role == "manager":
        department_users = select(User.id).where(User.department_id == principal.department_id)
        return FollowUpPlan.owner_id.in_(department_users)
    return FollowUpPlan.owner_id == principal.user_id


async def get_plan(session: AsyncSession, principal: Principal, plan_id: int) -> FollowUpPlan:
    """One plan within the caller's scope; 404 otherwise."""
    query = select(FollowUpPlan).where(FollowUpPlan.id == plan_id)
    condition = plan_scope(principal)
    if condition is not None:
        query = query.where(condition)
    plan = await session.scalar(query.execution_options(populate_existing=True))
    if plan is None:
        raise NotFound(f"follow-up plan {plan_id} not found")
    return plan


async def check_new_plan(
    session: AsyncSession, principal: Principal, body: PlanCreate
) -> tuple[Customer, int]:
    """(customer, owner id) for a new plan; the customer must be the caller's to manage."""
    query = select(Customer).where(Customer.id == body.customer_id)
    if principal.role == "manager":
        query = query.where(Customer.department_id == principal.department_id)
    elif not principal.is_admin:
        query = query.where(Customer.owner_id == principal.user_id)
    customer = await session.scalar(query)
    if customer is None:
        raise NotFound(f"customer {body.customer_id} not found")
    if customer.merged_into_id is not None:
        raise Conflict(
            f"customer {customer.id} was merged into {customer.merged_into_id}; plan that one",
            code="customer_merged",
        )
    owner_id = body.owner_id or customer.owner_id or principal.user_id
    if principal.role == "agent" and owner_id != principal.user_id:
        raise Forbidden("agents own the plans they create")
    owner = await session.get(User, owner_id)
    if owner is None or not owner.is_active:
        raise Invalid("body.owner_id", f"user {owner_id} does not exist or is inactive")
    if principal.role == "manager" and owner.department_id != principal.department_id:
        raise Forbidden("managers assign plans within their own department")
    return customer, owner.id


async def reserve_plan_id(
    session: AsyncSession, principal: Principal, key: str | None, fingerprint: str
) -> int:
    """A fresh plan id, or the first one made with this Idempotency-Key (409 if reused)."""
    scope = f"follow-up-plans:user:{principal.user_id}"
    try:
        for _ in range(2):
            if key is not None:
                seen = await session.get(IdempotencyKey, (scope, key), populate_existing=True)
                if seen is not None:
                    if seen.request_hash != fingerprint:
                        raise Conflict(
                            "Idempotency-Key was already used with a different body",
                            code="idempotency_key_reused",
                        )
                    return int(seen.resource)
            plan_id = int(
                await session.scalar(
                    text("SELECT nextval(pg_get_serial_sequence('follow_up_plans', 'id'))")
                )
            )
            if key is None:
                return plan_id
            remembered = await session.scalar(
                insert(IdempotencyKey)
                .values(scope=scope, key=key, request_hash=fingerprint, resource=str(plan_id))
                .on_conflict_do_nothing()
                .returning(IdempotencyKey.resource)
            )
            if remembered is not None:
                await session.commit()
                return plan_id
            await session.rollback()  # a concurrent request with this key won: use its plan
        raise Conflict("Idempotency-Key is being used concurrently; retry")
    except BaseException:
        await session.rollback()
        raise


async def start_plan(client: Client, settings: Settings, new: NewPlan) -> PlanResult:
    """Update-with-start: returns once the workflow has written the plan row."""
    return await start_until_created(
        client,
        settings,
        FollowUpPlanWorkflow.run,
        PlanWorkflowInput(new=new),
        workflow_id=plan_workflow_id(new.plan_id),
        result_type=PlanResult,
        what="plan",
    )


async def run_action(
    client: Client, settings: Settings, plan: FollowUpPlan, update: str, arg: PlanAction
) -> PlanResult:
    """pause / resume / cancel as a workflow update; refusals are 409s."""
    if plan.status not in LIVE:
        raise Conflict(
            f"cannot {update} the plan: it is {plan.status}", code="transition_not_allowed"
        )
    handle = client.get_workflow_handle(plan.workflow_id)
    try:
        return await asyncio.wait_for(
            handle.execute_update(update, arg, result_type=PlanResult),
            timeout=settings.update_timeout_seconds,
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(exc)
        raise Conflict(message, code="transition_not_allowed") from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(f"plan {plan.id} has ended", code="plan_closed") from exc
        raise Unavailable("the workflow service is unavailable; retry") from exc
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise Unavailable("the plan workflow did not answer in time; retry") from exc


async def signal_upgrade(
    session: AsyncSession, client: Client, principal: Principal, body: UpgradeReminderBody
) -> int:
    """Tell the live plans (in scope) of customers tagged `tag`; returns plans signalled."""
    query = (
        select(FollowUpPlan.workflow_id)
        .join(Customer, Customer.id == FollowUpPlan.customer_id)
        .where(FollowUpPlan.status == "active", Customer.tags.contains([body.tag]))
    )
    condition = plan_scope(principal)
    if condition is not None:
        query = query.where(condition)
    signal = UpgradeAvailable(
        tag=body.tag, product=body.product, note=body.note, actor=principal.actor
    )
    sent = 0
    for workflow_id in await session.scalars(query):
        try:
            await client.get_workflow_handle(workflow_id).signal("upgrade_available", signal)
            sent += 1
        except RPCError as exc:
            # An ended plan simply has nothing to remind.
            log.warning("could not signal %s: %s", workflow_id, exc)
    return sent


async def mark_pushes_opened(
    session: AsyncSession, push_ids: list[int], *, plan_id: int | None = None
) -> None:
    """The customer engaged (tracked link, reply): first open only; paused channels resume.

    In the caller's transaction; `plan_id` confines it to one plan's pushes.
    """
    query = update(ContactPush).where(ContactPush.id.in_(push_ids), ContactPush.opened_at.is_(None))
    if plan_id is not None:
        query = query.where(ContactPush.plan_id == plan_id)
    await session.execute(query.values(opened_at=datetime.now(UTC)))
