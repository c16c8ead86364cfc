"""Approval of new customers: start (and restart) the reminder workflow, deliver decisions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.customers.access import read_scope
from api.customers.schemas import BulkApproveOut, BulkDecided, BulkFailure
from api.deps import Principal
from core.errors import AppError, Conflict, Forbidden, Invalid, Unavailable
from core.settings import Settings
from domain.customers import Approval, Decision
from models import Customer
from workflows import search_attributes as sa
from workflows.customer_approval import (
    ApprovalInput,
    ApprovalResult,
    CustomerApprovalWorkflow,
    DecideInput,
    approval_workflow_id,
)

log = logging.getLogger("closedloop.customers")
# Bulk imports start many approvals; keep the frontend's request fan-out bounded.
START_CONCURRENCY = 20
# The rejected run closes right after recording its decision; a resubmission waits that long.
CLOSE_WAIT_SECONDS = 5.0


def _search_attributes(customer: Customer) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.CUSTOMER_CODE, customer.code),
            SearchAttributePair(sa.OWNER, str(customer.owner_id)),
        ]
    )


def _input(customer: Customer) -> ApprovalInput:
    return ApprovalInput(
        customer_id=customer.id, code=customer.code, department_id=customer.department_id
    )


async def start_approvals(
    client: Client, settings: Settings, customers: Sequence[Customer]
) -> None:
    """Start one approval workflow per pending customer; failures are logged, not raised."""
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def start(customer: Customer) -> None:
        async with gate:
            try:
                await client.start_workflow(
                    CustomerApprovalWorkflow.run,
                    _input(customer),
                    id=approval_workflow_id(customer.id),
                    task_queue=settings.temporal_task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    search_attributes=_search_attributes(customer),
                )
            except WorkflowAlreadyStartedError:
                pass
            except RPCError as exc:
                # The decision still works: `decide` starts the workflow if it is missing.
                log.warning("approval workflow for customer %s not started: %s", customer.id, exc)

    await asyncio.gather(*(start(c) for c in customers if c.approval == Approval.PENDING))


def check_decider(principal: Principal, customer: Customer) -> None:
    """Managers of the owner's department and admins decide; the state must be pending."""
    if not (
        principal.is_admin
        or (principal.role == "manager" and principal.department_id == customer.department_id)
    ):
        raise Forbidden("only a manager of the customer's department or an admin decides")
    if customer.merged_into_id is not None:
        raise Conflict(f"customer {customer.code} was merged", code="customer_merged")
    if customer.approval != Approval.PENDING:
        raise Conflict(
            f"customer {customer.code} is already {customer.approval}", code="already_decided"
        )


async def decide(
    client: Client, settings: Settings, customer: Customer, inp: DecideInput
) -> ApprovalResult:
    """The workflow's `decide` update (starting the workflow if it never started)."""
    operation = WithStartWorkflowOperation(
        CustomerApprovalWorkflow.run,
        _input(customer),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id=approval_workflow_id(customer.id),
        task_queue=settings.temporal_task_queue,
        search_attributes=_search_attributes(customer),
    )
    try:
        return await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                "decide",
                inp,
                start_workflow_operation=operation,
                result_type=ApprovalResult,
            ),
            timeout=settings.update_timeout_seconds,
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == "Invalid":
            raise Invalid("body.reason", cause.message) from exc
        message = cause.message if isinstance(cause, ApplicationError) else str(exc)
        raise Conflict(message, code="already_decided") from exc
    except RPCError as exc:
        raise Unavailable("the workflow service is unavailable; retry") from exc
    except TimeoutError as exc:
        raise Unavailable("the approval workflow did not answer in time; retry") from exc


# --- a fresh run for a resubmitted customer ---------------------------------------------


async def _previous_run_closed(handle: WorkflowHandle[object, object]) -> None:
    """Give the rejected round's run the moment it needs to complete."""
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return
        raise
    if description.status != WorkflowExecutionStatus.RUNNING:
        return
    # Still running after the wait: an undecided run of an earlier round, adopted below.
    with contextlib.suppress(TimeoutError, WorkflowFailureError):
        await asyncio.wait_for(handle.result(follow_runs=False), CLOSE_WAIT_SECONDS)


async def restart_approval(
    client: Client, settings: Settings, customer: Customer, *, fresh: bool
) -> None:
    """A new approval run under the same id once the old one closed; a retry finds it running."""
    if customer.approval != Approval.PENDING:
        return  # decided again since: nothing to remind about
    workflow_id = approval_workflow_id(customer.id)
    try:
        if fresh:
            await _previous_run_closed(client.get_workflow_handle(workflow_id))
        await client.start_workflow(
            CustomerApprovalWorkflow.run,
            _input(customer),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            # A closed run may be followed by another; a running one is this resubmission's.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=_search_attributes(customer),
        )
    except RPCError as exc:
        # Pending is stored; `decide` starts the workflow if it is missing.
        log.warning("approval workflow for customer %s not restarted: %s", customer.id, exc)


# --- one decision for many customers ----------------------------------------------------


async def decide_many(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    principal: Principal,
    customer_ids: Sequence[int],
    decision: Decision,
    reason: str | None,
) -> BulkApproveOut:
    """Decide each customer in scope; every other id is reported with its reason, in order."""
    if not (principal.is_admin or principal.role == "manager"):
        raise Forbidden("only managers and admins decide approvals")
    query = select(Customer).where(Customer.id.in_(customer_ids))
    condition = read_scope(principal)
    if condition is not None:
        query = query.where(condition)
    found = {c.id: c for c in await session.scalars(query)}
    inp = DecideInput(
        decision=decision, reason=reason, actor=principal.actor, actor_id=principal.user_id
    )
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(customer_id: int) -> BulkDecided | BulkFailure:
        customer = found.get(customer_id)
        if customer is None:
            return BulkFailure(
                id=customer_id, code="not_found", message=f"customer {customer_id} not found"
            )
        try:
            check_decider(principal, customer)
            async with gate:
                result = await decide(client, settings, customer, inp)
        except AppError as exc:
            return BulkFailure(id=customer_id, code=exc.code, message=exc.message)
        return BulkDecided(id=customer_id, approval=result.approval)

    outcomes = await asyncio.gather(*(one(cid) for cid in customer_ids))
    return BulkApproveOut(
        decided=[o for o in outcomes if isinstance(o, BulkDecided)],
        failed=[o for o in outcomes if isinstance(o, BulkFailure)],
    )
