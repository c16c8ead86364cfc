"""Departments, users and API keys."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.audit.admin_log import record_audit
from api.deps import AdminUser, CurrentUser, ManagerOrAdmin, SessionDep
from api.org.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    DepartmentCreate,
    DepartmentOut,
    UserCreate,
    UserOut,
)
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from core.errors import Conflict, Forbidden, Invalid
from core.security import hash_password, new_api_key
from models import ApiKey, Department, Role, User

router = APIRouter(tags=["organisation"])


@router.post("/departments", status_code=status.HTTP_201_CREATED, response_model=DepartmentOut)
async def create_department(
    body: DepartmentCreate, caller: AdminUser, session: SessionDep
) -> Department:
    """Create a department (admin)."""
    if body.manager_id is not None and await session.get(User, body.manager_id) is None:
        raise Invalid("body.manager_id", f"user {body.manager_id} does not exist")
    department = Department(code=body.code, name=body.name, manager_id=body.manager_id)
    session.add(department)
    try:
        await session.flush()
        data = {"code": body.code, "manager_id": body.manager_id}
        await record_audit(session, caller, "department.create", "department", department.id, data)
        await session.commit()
    except IntegrityError as exc:
        raise Conflict(f"department code {body.code!r} already exists") from exc
    return department


@router.get("/departments", response_model=Page[DepartmentOut])
async def list_departments(
    _: CurrentUser, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[DepartmentOut]:
    """All departments (every signed-in user may route work to them)."""
    rows, next_cursor = await fetch_page(session, select(Department), Department.id, limit, cursor)
    return Page(items=[DepartmentOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def create_user(body: UserCreate, caller: ManagerOrAdmin, session: SessionDep) -> User:
    """Admins create anyone; managers create agents in their own department."""
    if caller.role == Role.MANAGER and (
        body.role != Role.AGENT or body.department_id != caller.department_id
    ):
        raise Forbidden("managers may only create agents in their own department")
    if body.role != Role.ADMIN and body.department_id is None:
        raise Invalid("body.department_id", "agents and managers belong to a department")
    if body.department_id is not None and await session.get(Department, body.department_id) is None:
        raise Invalid("body.department_id", f"department {body.department_id} does not exist")
    user = User(
        email=body.email.lower(),
        name=body.name,
        password_hash=hash_password(body.password),
        role=body.role.value,
        department_id=body.department_id,
    )
    session.add(user)
    try:
        await session.flush()
        data = {"email": user.email, "role": user.role, "department_id": user.department_id}
        await record_audit(session, caller, "user.create", "user", user.id, data)
        await session.commit()
    except IntegrityError as exc:
        raise Conflict(f"a user with email {body.email} already exists") from exc
    return user


@router.get("/users/me", response_model=UserOut)
async def me(caller: CurrentUser, session: SessionDep) -> User:
    """The signed-in user."""
    user = await session.get(User, caller.user_id)
    assert user is not None
    return user


@router.get("/users", response_model=Page[UserOut])
async def list_users(
    caller: CurrentUser, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[UserOut]:
    """Admins see everyone, managers their department, agents themselves."""
    query = select(User)
    if caller.role == Role.MANAGER:
        query = query.where(User.department_id == caller.department_id)
    elif caller.role == Role.AGENT:
        query = query.where(User.id == caller.user_id)
    rows, next_cursor = await fetch_page(session, query, User.id, limit, cursor)
    return Page(items=[UserOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyCreate, caller: AdminUser, session: SessionDep
) -> ApiKeyCreated:
    """Issue an API key acting as a user (admin). The key is shown once."""
    user_id = body.user_id or caller.user_id
    if await session.get(User, user_id) is None:
        raise Invalid("body.user_id", f"user {user_id} does not exist")
    key, prefix, key_hash = new_api_key()
    row = ApiKey(
        name=body.name, prefix=prefix, key_hash=key_hash, user_id=user_id, created_by=caller.user_id
    )
    session.add(row)
    await session.flush()
    data = {"name": body.name, "user_id": user_id, "prefix": prefix}
    await record_audit(session, caller, "api_key.create", "api_key", row.id, data)
    await session.commit()
    return ApiKeyCreated(id=row.id, name=row.name, user_id=user_id, key=key, prefix=prefix)
