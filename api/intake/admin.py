"""Categories (everyone reads, admins write) and routing rules (admins write, managers read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.admin_log import record_audit
from api.deps import AdminUser, CurrentUser, ManagerOrAdmin, SessionDep
from api.intake.schemas import (
    CategoryCreate,
    CategoryOut,
    CategoryPatch,
    RuleCreate,
    RuleFields,
    RuleOut,
    RulePatch,
)
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from core.errors import Conflict, Invalid, NotFound
from domain.routing import AssigneeStrategy
from models import Category, Department, RoutingRule, User

router = APIRouter(tags=["routing"])


async def _check_department(session: AsyncSession, department_id: int | None) -> None:
    if department_id is not None and await session.get(Department, department_id) is None:
        raise Invalid("body.department_id", f"department {department_id} does not exist")


# --- categories -------------------------------------------------------------------------
@router.post("/categories", status_code=status.HTTP_201_CREATED, response_model=CategoryOut)
async def create_category(body: CategoryCreate, caller: AdminUser, session: SessionDep) -> Category:
    """Add a feedback category with its default priority and department (admin)."""
    await _check_department(session, body.department_id)
    category = Category(**body.model_dump(mode="json"))
    session.add(category)
    try:
        await session.flush()
        data = {"code": body.code}
        await record_audit(session, caller, "category.create", "category", category.id, data)
        await session.commit()
    except IntegrityError as exc:
        raise Conflict(f"category code {body.code!r} already exists") from exc
    return category


@router.get("/categories", response_model=Page[CategoryOut])
async def list_categories(
    _: CurrentUser,
    session: SessionDep,
    active: bool | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[CategoryOut]:
    """All categories, oldest first."""
    query = select(Category)
    if active is not None:
        query = query.where(Category.active == active)
    rows, next_cursor = await fetch_page(session, query, Category.id, limit, cursor)
    return Page(items=[CategoryOut.model_validate(r) for r in rows], next_cursor=next_cursor)


async def _category(session: AsyncSession, ref: str) -> Category:
    query = select(Category)
    query = query.where(Category.id == int(ref) if ref.isdigit() else Category.code == ref)
    category = await session.scalar(query)
    if category is None:
        raise NotFound(f"category {ref} not found")
    return category


@router.get("/categories/{ref}", response_model=CategoryOut)
async def get_category(ref: str, _: CurrentUser, session: SessionDep) -> Category:
    """One category by id or code."""
    return await _category(session, ref)


@router.patch("/categories/{ref}", response_model=CategoryOut)
async def update_category(
    ref: str, body: CategoryPatch, caller: AdminUser, session: SessionDep
) -> Category:
    """Rename, re-prioritise, move or (de)activate a category (admin); the code stays."""
    category = await _category(session, ref)
    changes = body.model_dump(mode="json", exclude_unset=True)
    for field in ("name_zh", "name_en", "default_priority", "active"):
        if field in changes and changes[field] is None:
            raise Invalid(f"body.{field}", f"{field} cannot be null")
    await _check_department(session, changes.get("department_id"))
    for field, value in changes.items():
        setattr(category, field, value)
    await record_audit(session, caller, "category.update", "category", category.id, changes)
    await session.commit()
    return category


# --- routing rules ----------------------------------------------------------------------
async def _validate_rule(session: AsyncSession, rule: RoutingRule) -> None:
    """Cross-field checks once the final shape of the rule is known."""
    with session.no_autoflush:
        await _check_department(session, rule.department_id)
        if rule.category is not None:
            known = await session.scalar(select(Category.id).where(Category.code == rule.category))
            if known is None:
                raise Invalid("body.category", f"unknown category {rule.category!r}")
        if rule.assignee_strategy == AssigneeStrategy.FIXED and rule.assignee_id is None:
            raise Invalid("body.assignee_id", "the fixed strategy needs an assignee_id")
        if rule.assignee_id is not None:
            user = await session.get(User, rule.assignee_id)
            if user is None or not user.is_active:
                raise Invalid("body.assignee_id", f"user {rule.assignee_id} does not exist")


def _apply(rule: RoutingRule, body: RuleFields, *, patch: bool) -> None:
    changes: dict[str, Any] = body.model_dump(mode="json", exclude_unset=patch)
    for field in ("department_id", "assignee_strategy", "active", "position", "keywords"):
        if field in changes and changes[field] is None:
            if not patch and field in ("position", "keywords", "active"):
                changes.pop(field)
                continue
            raise Invalid(f"body.{field}", f"{field} cannot be null")
    for field, value in changes.items():
        setattr(rule, field, value)


@router.post("/routing-rules", status_code=status.HTTP_201_CREATED, response_model=RuleOut)
async def create_rule(body: RuleCreate, caller: AdminUser, session: SessionDep) -> RoutingRule:
    """Add a rule; the most specific matching rule wins, then the lowest position (admin)."""
    rule = RoutingRule(position=100, keywords=[], active=True)
    _apply(rule, body, patch=False)
    await _validate_rule(session, rule)
    session.add(rule)
    await session.flush()
    data = body.model_dump(mode="json")
    await record_audit(session, caller, "routing_rule.create", "routing_rule", rule.id, data)
    await session.commit()
    await session.refresh(rule)
    return rule


@router.get("/routing-rules", response_model=Page[RuleOut])
async def list_rules(
    _: ManagerOrAdmin,
    session: SessionDep,
    category: str | None = None,
    department_id: int | None = None,
    active: bool | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[RuleOut]:
    """Rules in creation order, filtered."""
    query = select(RoutingRule)
    if category is not None:
        query = query.where(RoutingRule.category == category)
    if department_id is not None:
        query = query.where(RoutingRule.department_id == department_id)
    if active is not None:
        query = query.where(RoutingRule.active == active)
    rows, next_cursor = await fetch_page(session, query, RoutingRule.id, limit, cursor)
    return Page(items=[RuleOut.model_validate(r) for r in rows], next_cursor=next_cursor)


async def _rule(session: AsyncSession, rule_id: int) -> RoutingRule:
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"routing rule {rule_id} not found")
    return rule


@router.get("/routing-rules/{rule_id}", response_model=RuleOut)
async def get_rule(rule_id: int, _: ManagerOrAdmin, session: SessionDep) -> RoutingRule:
    """One rule."""
    return await _rule(session, rule_id)


@router.patch("/routing-rules/{rule_id}", response_model=RuleOut)
async def update_rule(
    rule_id: int, body: RulePatch, caller: AdminUser, session: SessionDep
) -> RoutingRule:
    """Change a rule; a field given as null matches any value again (admin)."""
    rule = await _rule(session, rule_id)
    _apply(rule, body, patch=True)
    await _validate_rule(session, rule)
    data = body.model_dump(mode="json", exclude_unset=True)
    await record_audit(session, caller, "routing_rule.update", "routing_rule", rule.id, data)
    await session.commit()
    await session.refresh(rule)
    return rule


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: int, caller: AdminUser, session: SessionDep) -> Response:
    """Remove a rule (admin); tickets already dispatched keep their assignment."""
    await session.delete(await _rule(session, rule_id))
    await record_audit(session, caller, "routing_rule.delete", "routing_rule", rule_id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
