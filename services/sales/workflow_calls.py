"""Workflow updates of quotes and service orders, with their refusals mapped to HTTP errors."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from core.errors import Conflict, Forbidden, Invalid, Unavailable
from core.settings import Settings

T = TypeVar("T", bound=BaseModel)


async def run_update(
    client: Client,
    settings: Settings,
    workflow_id: str,
    update: str,
    arg: Any,
    result_type: type[T],
    *,
    closed_message: str,
) -> T:
    """Execute an update; Conflict → 409, Forbidden → 403, Invalid → 422, closed → 409."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await asyncio.wait_for(
            handle.execute_update(update, arg, result_type=result_type),
            timeout=settings.update_timeout_seconds,
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            if cause.type == "Invalid":
                field = cause.details[0]["field"] if cause.details else "body"
                raise Invalid(f"body.{field}", cause.message) from exc
            if cause.type == "Forbidden":
                raise Forbidden(cause.message) from exc
            raise Conflict(cause.message, code="transition_not_allowed") from exc
        raise Conflict(str(exc), code="transition_not_allowed") from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(closed_message, code="transition_not_allowed") from exc
        raise
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise Unavailable("the change was accepted but is not persisted yet; retry") from exc
