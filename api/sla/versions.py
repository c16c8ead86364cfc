"""Policy versions and their diffs, publishing, and rollout progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, status
from sqlalchemy import select

from api.deps import AdminUser, ManagerOrAdmin, SessionDep, SettingsDep, TemporalDep
from api.pagination import Page
from api.sla import rollout_service
from api.sla.admin_schemas import ChangeOut, DiffOut, PolicyVersionOut, PublishBody, RolloutOut
from api.sla.schemas import PolicyId
from core.errors import NotFound
from domain.policy_admin import diff
from models import SlaPolicy, SlaPolicyVersion

router = APIRouter(tags=["sla"])


async def _versions(session: SessionDep, policy_id: int) -> dict[int, SlaPolicyVersion]:
    if await session.get(SlaPolicy, policy_id) is None:
        raise NotFound(f"SLA policy {policy_id} not found")
    rows = await session.scalars(
        select(SlaPolicyVersion)
        .where(SlaPolicyVersion.policy_id == policy_id)
        .order_by(SlaPolicyVersion.version)
    )
    return {row.version: row for row in rows}


def _body(row: SlaPolicyVersion) -> dict[str, object]:
    return {"calendar_id": row.calendar_id, **row.body}


@router.get("/sla-policies/{policy_id}/versions", response_model=Page[PolicyVersionOut])
async def list_versions(
    policy_id: PolicyId, _: ManagerOrAdmin, session: SessionDep
) -> Page[PolicyVersionOut]:
    """Every saved version, oldest first; versions never change once saved."""
    rows = await _versions(session, policy_id)
    items = [
        PolicyVersionOut(
            version=r.version, created_at=r.created_at, created_by=r.created_by, body=_body(r)
        )
        for r in rows.values()
    ]
    return Page(items=items, next_cursor=None)


@router.get("/sla-policies/{policy_id}/versions/{a}/diff/{b}", response_model=DiffOut)
async def diff_versions(
    policy_id: PolicyId, a: int, b: int, _: ManagerOrAdmin, session: SessionDep
) -> DiffOut:
    """Leaves that differ from version `a` to `b`, by dotted path."""
    rows = await _versions(session, policy_id)
    for number in (a, b):
        if number not in rows:
            raise NotFound(f"SLA policy {policy_id} has no version {number}")
    changes = [
        ChangeOut(path=c.path, from_=c.from_, to=c.to) for c in diff(_body(rows[a]), _body(rows[b]))
    ]
    return DiffOut(from_version=a, to_version=b, changes=changes)


@router.post(
    "/sla-policies/{policy_id}/publish",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RolloutOut,
)
async def publish(
    policy_id: PolicyId,
    body: PublishBody,
    caller: AdminUser,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=255, min_length=1)
    ] = None,
) -> RolloutOut:
    """New tickets bind the version; `rebind_open` also moves open ones (one rollout at once)."""
    return await rollout_service.publish(
        session,
        temporal,
        settings.temporal_task_queue,
        caller,
        policy_id,
        body.rollout,
        body.version,
        idempotency_key=idempotency_key,
    )


@router.get("/sla-policies/{policy_id}/rollouts/{rollout_id}", response_model=RolloutOut)
async def get_rollout(
    policy_id: PolicyId, rollout_id: int, _: ManagerOrAdmin, session: SessionDep
) -> RolloutOut:
    """Progress and final counts of one rollout."""
    return await rollout_service.get_rollout(session, policy_id, rollout_id)
