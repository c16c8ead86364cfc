"""Worker slots, pollers and cache size come from the settings (README "Sizing")."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import PollerBehaviorSimpleMaximum
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from core.settings import Settings
from worker import build_worker


def test_defaults_keep_sdk_slots_and_raise_pollers() -> None:
    fields = Settings.model_fields
    assert fields["worker_max_concurrent_workflow_tasks"].default == 100
    assert fields["worker_workflow_task_pollers"].default == 20
    assert fields["worker_activity_task_pollers"].default == 20


async def test_build_worker_passes_the_tuning_settings(
    settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    tuned = settings.model_copy(
        update={
            "temporal_task_queue": "closedloop-tuning-test",  # the session worker has ours
            "max_cached_workflows": 321,
            "worker_max_concurrent_workflow_tasks": 7,
            "worker_max_concurrent_activities": 9,
            "worker_max_concurrent_local_activities": 11,
            "worker_workflow_task_pollers": 3,
            "worker_activity_task_pollers": 2,
            "worker_sandbox_passthrough_all": True,
        }
    )
    main, delivery = build_worker(temporal_env.client, engine, tuned).workers
    config = main.config()
    assert config.get("max_cached_workflows") == 321
    assert config.get("max_concurrent_workflow_tasks") == 7
    assert config.get("max_concurrent_activities") == 9
    assert config.get("max_concurrent_local_activities") == 11
    assert config.get("workflow_task_poller_behavior") == PollerBehaviorSimpleMaximum(3)
    assert config.get("activity_task_poller_behavior") == PollerBehaviorSimpleMaximum(2)
    runner = config.get("workflow_runner")
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert runner.restrictions.passthrough_all_modules
    # Deliveries have their own queue and slots, with the same sandbox settings.
    assert delivery.config().get("task_queue") == tuned.delivery_task_queue
    delivery_runner = delivery.config().get("workflow_runner")
    assert isinstance(delivery_runner, SandboxedWorkflowRunner)
    assert delivery_runner.restrictions.passthrough_all_modules
