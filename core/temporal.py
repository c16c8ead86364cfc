"""Temporal client construction shared by the API, the worker and the CLI."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.codec import data_converter
from core.errors import Unavailable
from core.settings import Settings

T = TypeVar("T")


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime exporting SDK metrics in Prometheus format on `bind_address`."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """Connect with the pydantic converter and the payload encryption codec."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
    )


async def start_until_created(
    client: Client,
    settings: Settings,
    run: Any,
    arg: Any,
    *,
    workflow_id: str,
    result_type: type[T],
    what: str,
) -> T:
    """Update-with-start of a record-owning workflow; returns once its row is written.

    The workflow's `created` update completes after its first activity persisted the row;
    an existing workflow with the id is reused, so a retried request never makes two.
    """
    operation: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        run,
        arg,
        id=workflow_id,
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    try:
        return await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                "created", start_workflow_operation=operation, result_type=result_type
            ),
            timeout=settings.update_timeout_seconds,
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise Unavailable(f"the {what} was accepted but is not persisted yet; retry") from exc
