"""Approval of new customers: start the reminder workflow, deliver the manager's decision."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import Principal
from core.errors import Conflict, Forbidden, Invalid, Unavailable
from core.settings import Settings
from domain.customers import Approval
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
