"""Customer needs and the solution library."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.customers.access import get_customer
from api.deps import Principal
from core.errors import Invalid, NotFound
from models import CustomerInteraction, Need, Solution
from services.sales.records import remember, replayed


async def create_need(
    session: AsyncSession,
    principal: Principal,
    customer_id: int,
    body: Any,
    key: str | None,
    fingerprint: str,
) -> Need:
    customer = await get_customer(session, principal, customer_id)
    scope = f"need:{principal.user_id}"
    seen = await replayed(session, scope, key, fingerprint)
    if seen is not None:
        need = await session.get(Need, int(seen))
        assert need is not None
        return need
    if body.interaction_id is not None:
        interaction = await session.get(CustomerInteraction, body.interaction_id)
        if interaction is None or interaction.customer_id != customer.id:
            raise Invalid("body.interaction_id", "the interaction does not belong to this customer")
    need = Need(
        customer_id=customer.id,
        kind=body.kind,
        description=body.description,
        interaction_id=body.interaction_id,
        status="open",
        created_by=principal.user_id,
    )
    session.add(need)
    await session.flush()
    await remember(session, scope, key, fingerprint, str(need.id))
    await session.commit()
    return need


async def list_needs(session: AsyncSession, principal: Principal, customer_id: int) -> list[Need]:
    await get_customer(session, principal, customer_id)
    found = await session.scalars(
        select(Need).where(Need.customer_id == customer_id).order_by(Need.id)
    )
    return list(found)


def solution_row(body: Any) -> dict[str, Any]:
    data: dict[str, Any] = body.model_dump(exclude_unset=True, mode="json")
    return data


async def get_solution(session: AsyncSession, solution_id: int) -> Solution:
    solution = await session.get(Solution, solution_id)
    if solution is None:
        raise NotFound(f"solution {solution_id} not found")
    return solution


async def create_solution(
    session: AsyncSession, principal: Principal, body: Any, key: str | None, fingerprint: str
) -> Solution:
    scope = f"solution:{principal.user_id}"
    seen = await replayed(session, scope, key, fingerprint)
    if seen is not None:
        return await get_solution(session, int(seen))
    solution = Solution(**solution_row(body), created_by=principal.user_id)
    session.add(solution)
    await session.flush()
    await remember(session, scope, key, fingerprint, str(solution.id))
    await session.commit()
    return solution
