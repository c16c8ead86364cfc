"""POST /sla-policies/simulate: what a candidate policy would have done (managers, admins)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from api.deps import ManagerOrAdmin, SessionDep
from api.sla import simulator
from api.sla.admin_schemas import SimulateBody, SimulateOut

router = APIRouter(tags=["sla"])


@router.post("/sla-policies/simulate", response_model=SimulateOut)
async def simulate(body: SimulateBody, caller: ManagerOrAdmin, session: SessionDep) -> SimulateOut:
    """Tickets created in [since, until): breaches now vs under the candidate, as of now."""
    return await simulator.simulate(session, body, caller, datetime.now(UTC))
