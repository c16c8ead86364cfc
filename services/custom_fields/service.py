"""Custom field definitions in the database, and checking values and filters against them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.errors import Invalid
from domain.custom_fields import Definition, Entity, FieldType, filter_value, stale, validate
from models import CustomFieldDefinition

FILTER_PREFIX = "cf."


def as_definition(row: CustomFieldDefinition) -> Definition:
    return Definition(
        key=row.key,
        type=FieldType(row.type),
        options=tuple(row.options or ()),
        required=row.required,
        categories=tuple(row.categories or ()),
        public=row.public,
        active=row.active,
    )


async def rows_for(session: AsyncSession, entity: Entity) -> list[CustomFieldDefinition]:
    found = await session.scalars(
        select(CustomFieldDefinition)
        .where(CustomFieldDefinition.entity == entity.value)
        .order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
    )
    return list(found)


async def definitions(session: AsyncSession, entity: Entity) -> list[Definition]:
    """Every definition of the entity, retired ones included (they flag stored values)."""
    return [as_definition(row) for row in await rows_for(session, entity)]


def invalid(errors: list[tuple[str, str]]) -> Invalid:
    """One 422 listing every field's problem."""
    first_field, first_message = errors[0]
    error = Invalid(first_field, first_message)
    error.details = {"errors": [{"field": f, "message": m} for f, m in errors]}
    return error


async def checked_values(
    session: AsyncSession,
    entity: Entity,
    values: Mapping[str, Any] | None,
    category: str | None = None,
    *,
    existing: Mapping[str, Any] | None = None,
    only_public: bool = False,
    creating: bool = True,
) -> dict[str, Any]:
    """The values to store; 422 naming `custom_fields.<key>` for any that do not fit."""
    defs = await definitions(session, entity)
    if not defs and not values:
        return dict(existing or {})
    checked = validate(defs, values or {}, category, existing=existing, only_public=only_public)
    errors = checked.errors
    if not creating:
        # An update checks what it sends; required fields bind on creation.
        errors = [e for e in errors if e[1] != "this field is required" or _sent(e[0], values)]
    if errors:
        raise invalid(errors)
    return checked.values


def _sent(path: str, values: Mapping[str, Any] | None) -> bool:
    return bool(values) and path.removeprefix("custom_fields.") in (values or {})


async def flags(session: AsyncSession, entity: Entity, values: Mapping[str, Any]) -> dict[str, str]:
    """Stored values their definitions no longer allow (kept readable, flagged)."""
    if not values:
        return {}
    return stale(await definitions(session, entity), values)


async def filter_clauses(
    session: AsyncSession,
    entity: Entity,
    column: Any,
    params: Mapping[str, str],
) -> list[ColumnElement[bool]]:
    """`?cf.<key>=value` → JSONB containment conditions; 422 naming `cf.<key>`."""
    wanted = {k: v for k, v in params.items() if k.startswith(FILTER_PREFIX)}
    if not wanted:
        return []
    by_key = {d.key: d for d in await definitions(session, entity)}
    clauses: list[ColumnElement[bool]] = []
    for name, raw in wanted.items():
        d = by_key.get(name.removeprefix(FILTER_PREFIX))
        if d is None:
            raise Invalid(name, "no such custom field")
        try:
            clauses.append(column.contains(filter_value(d, raw)))
        except ValueError as exc:
            raise Invalid(name, str(exc)) from exc
    return clauses
