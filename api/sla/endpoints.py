"""SLA policies (versioned) and business calendars: admins write, managers read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from activities.sla_binding import policy_from_row
from api.audit.admin_log import record_audit
from api.deps import AdminUser, ManagerOrAdmin, SessionDep
from api.pagination import CursorQuery, LimitQuery, Page, fetch_page
from api.sla.errors import invalid_from
from api.sla.schemas import PolicyBody, PolicyId, PolicyOut
from core.errors import Conflict, Invalid, NotFound
from domain.policy_admin import check_ladder, check_targets, diff, normalized_scope
from models import BusinessCalendar, SlaPolicy, SlaPolicyVersion, User

router = APIRouter(tags=["sla"])

# Escalation targets the recipient resolver understands, besides a user id.
_NOTIFY_RULES = ("assignee", "department_manager", "role:admin", "customer")
# Fits notifications.channel (String(24)).
_CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,23}$")


async def _check_escalation(session: SessionDep, body: PolicyBody) -> None:
    """Every escalation reaches someone on a channel that can be stored, or the body is 422."""
    for i, step in enumerate(body.escalation):
        notify = step.notify
        user_id = int(notify) if notify.isascii() and notify.isdigit() and len(notify) < 10 else 0
        if notify not in _NOTIFY_RULES and (not user_id or not await session.get(User, user_id)):
            raise Invalid(
                f"body.escalation.{i}.notify",
                f"unknown recipient {notify!r}: use {', '.join(_NOTIFY_RULES)} or a user id",
            )
        bad = [c for c in step.channels if not _CHANNEL.match(c)]
        if bad:
            raise Invalid(f"body.escalation.{i}.channels", f"bad channel name {bad[0]!r}")


def _version_body(body: PolicyBody) -> dict[str, object]:
    return body.model_dump(
        mode="json", include={"targets", "warn_at", "escalation", "tracking", "revisit"}
    )


def _policy_out(policy: SlaPolicy, version: SlaPolicyVersion) -> PolicyOut:
    return PolicyOut(
        id=policy.id,
        name=policy.name,
        version=version.version,
        calendar_id=version.calendar_id,
        scope=policy.scope or {},
        is_default=policy.is_default,
        created_at=version.created_at,
        **version.body,
    )


async def _check_calendar(session: SessionDep, calendar_id: int | None) -> int:
    calendar_id = calendar_id or 1
    if await session.get(BusinessCalendar, calendar_id) is None:
        raise Invalid("body.calendar_id", f"calendar {calendar_id} does not exist")
    return calendar_id


async def _load(session: SessionDep, policy_id: int) -> tuple[SlaPolicy, SlaPolicyVersion]:
    policy = await session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"SLA policy {policy_id} not found")
    version = await session.scalar(
        select(SlaPolicyVersion).where(
            SlaPolicyVersion.policy_id == policy.id,
            SlaPolicyVersion.version == policy.current_version,
        )
    )
    assert version is not None
    return policy, version


def _validated(policy: SlaPolicy, version: SlaPolicyVersion, body: PolicyBody) -> None:
    """The domain accepts the body, resolution >= first response, the ladder is in order."""
    try:
        policy_from_row(policy, version)
        check_targets({p: (t.first_response, t.resolution) for p, t in body.targets.items()})
        check_ladder(body.escalation)
    except ValueError as exc:
        raise invalid_from(exc) from exc


async def _check_scope(session: SessionDep, body: PolicyBody, policy_id: int | None) -> None:
    """Two policies with the same non-empty scope could never be told apart: 409."""
    scope = normalized_scope(body.scope.model_dump() if body.scope else {})
    if not scope:
        return
    for other in await session.scalars(select(SlaPolicy)):
        if other.id != policy_id and normalized_scope(other.scope) == scope:
            raise Conflict(
                f"policy {other.id} ({other.name!r}) already has this scope",
                details={"field": "body.scope", "policy_id": other.id},
            )


def _audited_body(policy: SlaPolicy, version: SlaPolicyVersion) -> dict[str, Any]:
    """What an admin edits, for audit diffs: name, calendar, scope and the version body."""
    return {
        "name": policy.name,
        "calendar_id": version.calendar_id,
        "scope": normalized_scope(policy.scope),
        **version.body,
    }


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED, response_model=PolicyOut)
async def create_policy(body: PolicyBody, caller: AdminUser, session: SessionDep) -> PolicyOut:
    """Create a policy at version 1; `scope` decides which new tickets bind to it."""
    calendar_id = await _check_calendar(session, body.calendar_id)
    await _check_escalation(session, body)
    await _check_scope(session, body, None)
    policy = SlaPolicy(
        name=body.name,
        is_default=body.is_default,
        scope=body.scope.model_dump() if body.scope else {},
        current_version=1,
    )
    session.add(policy)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a policy named {body.name!r} already exists") from exc
    version = SlaPolicyVersion(
        policy_id=policy.id,
        version=1,
        calendar_id=calendar_id,
        body=_version_body(body),
        created_by=caller.user_id,
        created_at=datetime.now(UTC),
    )
    _validated(policy, version, body)
    session.add(version)
    if body.is_default:
        await session.execute(
            update(SlaPolicy).where(SlaPolicy.id != policy.id).values(is_default=False)
        )
    data = {
        "name": body.name,
        "version": 1,
        "is_default": body.is_default,
        "changes": [c.as_json() for c in diff({}, _audited_body(policy, version))],
    }
    await record_audit(session, caller, "sla_policy.create", "sla_policy", policy.id, data)
    await session.commit()
    return _policy_out(policy, version)


@router.put("/sla-policies/{policy_id}", response_model=PolicyOut)
async def new_policy_version(
    policy_id: PolicyId, body: PolicyBody, caller: AdminUser, session: SessionDep
) -> PolicyOut:
    """Save a new version; new tickets bind to it, open tickets keep the version they bound."""
    policy, current = await _load(session, policy_id)
    calendar_id = await _check_calendar(session, body.calendar_id)
    await _check_escalation(session, body)
    await _check_scope(session, body, policy.id)
    before = _audited_body(policy, current)
    latest = await session.scalar(
        select(SlaPolicyVersion.version)
        .where(SlaPolicyVersion.policy_id == policy.id)
        .order_by(SlaPolicyVersion.version.desc())
        .limit(1)
    )
    policy.current_version = (latest or current.version) + 1
    policy.scope = body.scope.model_dump() if body.scope else {}
    policy.name = body.name
    version = SlaPolicyVersion(
        policy_id=policy.id,
        version=policy.current_version,
        calendar_id=calendar_id,
        body=_version_body(body),
        created_by=caller.user_id,
        created_at=datetime.now(UTC),
    )
    _validated(policy, version, body)
    session.add(version)
    changes = [c.as_json() for c in diff(before, _audited_body(policy, version))]
    data = {"name": body.name, "version": version.version, "changes": changes}
    await record_audit(session, caller, "sla_policy.new_version", "sla_policy", policy.id, data)
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Conflict("the policy changed concurrently; reload and retry") from exc
    return _policy_out(policy, version)


@router.get("/sla-policies", response_model=Page[PolicyOut])
async def list_policies(
    _: ManagerOrAdmin, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[PolicyOut]:
    """Policies at their current version."""
    rows, next_cursor = await fetch_page(session, select(SlaPolicy), SlaPolicy.id, limit, cursor)
    items = [_policy_out(*await _load(session, p.id)) for p in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/sla-policies/{policy_id}", response_model=PolicyOut)
async def get_policy(policy_id: PolicyId, _: ManagerOrAdmin, session: SessionDep) -> PolicyOut:
    """One policy at its current version."""
    return _policy_out(*await _load(session, policy_id))
