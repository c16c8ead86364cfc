"""Service orders: create (with default stages), read, complete a stage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from api.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep
from api.sales.common import IdempotencyKeyHeader, ObjectId
from api.sales.schemas import CompleteStageIn, ServiceOrderIn, ServiceOrderOut
from api.tickets.service import request_fingerprint
from core.errors import Forbidden
from services.sales import service_orders as service

router = APIRouter(prefix="/service-orders", tags=["service orders"])
StageIndex = Annotated[int, Path(ge=0, lt=100)]


async def _view(session: SessionDep, caller: CurrentUser, order_id: int) -> dict[str, Any]:
    order = await service.get_order(session, caller, order_id)
    return service.order_view(order, await service.stages_of(session, order.id))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ServiceOrderOut)
async def create_order(
    body: ServiceOrderIn,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> dict[str, Any]:
    """Stages default to 需求调研 → 方案设计 → 开发测试 → 验收交付."""
    fingerprint = request_fingerprint(body)
    order_id = await service.create_order(
        session, client, settings, caller, body, idempotency_key, fingerprint
    )
    return await _view(session, caller, order_id)


@router.get("/{order_id}", response_model=ServiceOrderOut)
async def get_order(order_id: ObjectId, caller: CurrentUser, session: SessionDep) -> Any:
    return await _view(session, caller, order_id)


@router.post("/{order_id}/stages/{index}/complete", response_model=ServiceOrderOut)
async def complete_stage(
    order_id: ObjectId,
    index: StageIndex,
    body: CompleteStageIn,
    caller: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """In order (409 otherwise), by the stage owner, the order owner, managers or admins."""
    order = await service.get_order(session, caller, order_id)
    stages = await service.stages_of(session, order.id)
    owners = {order.owner_id, *(s.owner_id for s in stages if s.index == index)}
    if caller.role == "agent" and caller.user_id not in owners:
        raise Forbidden("only the stage owner, the order owner, managers and admins complete it")
    await service.complete_stage(
        client, settings, caller, order, index, body.note, body.attachment_ids
    )
    return await _view(session, caller, order_id)
