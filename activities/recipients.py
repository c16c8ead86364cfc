"""Resolve notification rules (assignee, department_manager, role:admin, a user id) to people."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Department, User


@dataclass(frozen=True)
class Recipient:
    key: str
    user_id: int | None


async def _department_managers(session: AsyncSession, department_id: int | None) -> list[int]:
    if department_id is None:
        return []
    manager_id = await session.scalar(
        select(Department.manager_id).where(Department.id == department_id)
    )
    if manager_id is not None:
        return [manager_id]
    found = await session.scalars(
        select(User.id).where(
            User.department_id == department_id, User.role == "manager", User.is_active
        )
    )
    return list(found)


async def _admins(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(User.id).where(User.role == "admin", User.is_active)))


async def resolve_recipients(
    session: AsyncSession, rule: str, *, assignee_id: int | None, department_id: int | None
) -> list[Recipient]:
    """People a rule points at; nobody is skipped silently: an unassigned ticket goes up a level."""
    if rule == "customer":
        return [Recipient("customer", None)]
    user_ids: list[int]
    if rule == "assignee":
        user_ids = [assignee_id] if assignee_id is not None else []
        if not user_ids:
            user_ids = await _department_managers(session, department_id)
    elif rule == "department_manager":
        user_ids = await _department_managers(session, department_id)
    elif rule == "role:admin":
        user_ids = await _admins(session)
    elif rule.isdigit():
        user_ids = [int(rule)]
    else:
        user_ids = []
    if not user_ids and rule != "role:admin":
        # A rule with nobody behind it (no manager yet) still reaches someone accountable.
        user_ids = await _admins(session)
    return [Recipient(f"user:{user_id}", user_id) for user_id in dict.fromkeys(user_ids)]
