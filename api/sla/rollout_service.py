"""Publishing a policy version: new tickets bind it, and optionally a rollout moves open ones."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.audit.admin_log import record_audit
from api.deps import Principal
from api.sla.admin_schemas import RolloutMode, RolloutOut
from core.errors import Conflict, NotFound
from models import (
    BusinessCalendar,
    IdempotencyKey,
    PolicyRollout,
    SlaPolicy,
    SlaPolicyVersion,
)
from workflows.policy_rollout import PolicyRolloutWorkflow
from workflows.rollout_types import PAGE_SIZE, RolloutInput


def rollout_workflow_id(rollout_id: int) -> str:
    return f"policy-rollout-{rollout_id}"


def rollout_out(row: PolicyRollout) -> RolloutOut:
    return RolloutOut(
        rollout_id=row.id,
        policy_id=row.policy_id,
        version=row.to_version,
        calendar_version=row.calendar_version,
        mode=RolloutMode(row.mode),
        status=row.status,
        total=row.total,
        rebound=row.rebound,
        skipped=row.skipped,
        failed=row.failed,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def publish(
    session: AsyncSession,
    temporal: Client,
    task_queue: str,
    caller: Principal,
    policy_id: int,
    mode: RolloutMode,
    version_number: int | None,
    page_size: int = PAGE_SIZE,
    idempotency_key: str | None = None,
) -> RolloutOut:
    """Make a version current; `rebind_open` starts a rollout (one running per policy: 409)."""
    policy = await session.get(SlaPolicy, policy_id, with_for_update=True)
    if policy is None:
        raise NotFound(f"SLA policy {policy_id} not found")
    scope = f"sla_publish:{policy_id}:user:{caller.user_id}"
    fingerprint = hashlib.sha256(f"{mode.value}:{version_number}".encode()).hexdigest()
    if idempotency_key is not None:
        seen = await session.get(IdempotencyKey, (scope, idempotency_key))
        if seen is not None:
            if seen.request_hash != fingerprint:
                raise Conflict(
                    "Idempotency-Key was already used with a different body",
                    code="idempotency_key_reused",
                )
            return await get_rollout(session, policy_id, int(seen.resource))
    number = version_number or await session.scalar(
        select(SlaPolicyVersion.version)
        .where(SlaPolicyVersion.policy_id == policy_id)
        .order_by(SlaPolicyVersion.version.desc())
        .limit(1)
    )
    version = await session.scalar(
        select(SlaPolicyVersion).where(
            SlaPolicyVersion.policy_id == policy_id, SlaPolicyVersion.version == number
        )
    )
    if version is None:
        raise NotFound(f"SLA policy {policy_id} has no version {number}")
    calendar = await session.get(BusinessCalendar, version.calendar_id)
    assert calendar is not None
    previous = policy.current_version
    policy.current_version = version.version
    rebinding = mode is RolloutMode.REBIND_OPEN
    row = PolicyRollout(
        policy_id=policy_id,
        to_version=version.version,
        calendar_version=calendar.current_version,
        mode=mode.value,
        status="running" if rebinding else "completed",
        created_by=caller.user_id,
        started_at=datetime.now(UTC),
        finished_at=None if rebinding else datetime.now(UTC),
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"a rollout of policy {policy_id} is still running; publish again once it finishes",
            details={"policy_id": policy_id},
        ) from exc
    if idempotency_key is not None:
        session.add(
            IdempotencyKey(
                scope=scope, key=idempotency_key, request_hash=fingerprint, resource=str(row.id)
            )
        )
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict("Idempotency-Key is being used concurrently; retry") from exc
    changes = [{"path": "current_version", "from": previous, "to": version.version}]
    data = {"rollout_id": row.id, "mode": mode.value, "version": version.version}
    await record_audit(
        session, caller, "sla_policy.publish", "sla_policy", policy_id, {**data, "changes": changes}
    )
    if rebinding:
        await record_audit(session, caller, "sla_policy.rollout", "policy_rollout", row.id, data)
    await session.commit()
    if rebinding:
        await _start(temporal, task_queue, session, row, caller, page_size)
    return rollout_out(row)


async def _start(
    temporal: Client,
    task_queue: str,
    session: AsyncSession,
    row: PolicyRollout,
    caller: Principal,
    page_size: int,
) -> None:
    """Start the rollout workflow; if Temporal refuses, the rollout fails instead of blocking."""
    try:
        await temporal.start_workflow(
            PolicyRolloutWorkflow.run,
            RolloutInput(
                rollout_id=row.id,
                policy_id=row.policy_id,
                to_version=row.to_version,
                calendar_version=row.calendar_version,
                actor=caller.actor,
                page_size=page_size,
            ),
            id=rollout_workflow_id(row.id),
            task_queue=task_queue,
        )
    except Exception:
        row.status, row.finished_at = "failed", datetime.now(UTC)
        await session.commit()
        raise


async def get_rollout(session: AsyncSession, policy_id: int, rollout_id: int) -> RolloutOut:
    row = await session.get(PolicyRollout, rollout_id)
    if row is None or row.policy_id != policy_id:
        raise NotFound(f"rollout {rollout_id} of policy {policy_id} not found")
    return rollout_out(row)
