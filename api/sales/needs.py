"""Customer needs and the solution library."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from api.deps import CurrentUser, ManagerOrAdmin, SessionDep
from api.sales.common import IdempotencyKeyHeader, ObjectId
from api.sales.schemas import NeedIn, NeedOut, SolutionIn, SolutionOut, SolutionPatch
from api.tickets.service import request_fingerprint
from models import Need, Solution
from services.sales import needs as service

needs_router = APIRouter(prefix="/customers/{customer_id}/needs", tags=["needs"])
solutions_router = APIRouter(prefix="/solutions", tags=["solutions"])


@needs_router.post("", status_code=status.HTTP_201_CREATED, response_model=NeedOut)
async def create_need(
    customer_id: ObjectId,
    body: NeedIn,
    caller: CurrentUser,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Need:
    """A need (product/service/custom); its status follows the quotes made for it."""
    fingerprint = request_fingerprint(body)
    return await service.create_need(
        session, caller, customer_id, body, idempotency_key, fingerprint
    )


@needs_router.get("", response_model=list[NeedOut])
async def list_needs(customer_id: ObjectId, caller: CurrentUser, session: SessionDep) -> Any:
    return await service.list_needs(session, caller, customer_id)


@solutions_router.post("", status_code=status.HTTP_201_CREATED, response_model=SolutionOut)
async def create_solution(
    body: SolutionIn,
    caller: ManagerOrAdmin,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    return await service.create_solution(
        session, caller, body, idempotency_key, request_fingerprint(body)
    )


@solutions_router.get("", response_model=list[SolutionOut])
async def list_solutions(
    caller: CurrentUser,
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    query = select(Solution).order_by(Solution.id).limit(200)
    if kind:
        query = query.where(Solution.kind == kind)
    if tag:
        query = query.where(Solution.tags.contains([tag]))
    return list(await session.scalars(query))


@solutions_router.get("/{solution_id}", response_model=SolutionOut)
async def get_solution(solution_id: ObjectId, caller: CurrentUser, session: SessionDep) -> Any:
    return await service.get_solution(session, solution_id)


@solutions_router.patch("/{solution_id}", response_model=SolutionOut)
async def patch_solution(
    solution_id: ObjectId, body: SolutionPatch, caller: ManagerOrAdmin, session: SessionDep
) -> Any:
    solution = await service.get_solution(session, solution_id)
    for field, value in service.solution_row(body).items():
        setattr(solution, field, value)
    solution.updated_at = datetime.now(UTC)
    await session.commit()
    return solution
