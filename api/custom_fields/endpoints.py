"""Custom field endpoints: admins define; everyone signed in reads; the form reads public ones."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.audit.admin_log import record_audit
from api.custom_fields.schemas import (
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPatch,
    PublicFieldOut,
)
from api.deps import CurrentUser, Principal, SessionDep
from api.intake.public import public_guard
from core.errors import Conflict, Forbidden, Invalid, NotFound
from domain.custom_fields import Entity, FieldType
from models import CustomFieldDefinition
from services.custom_fields.service import rows_for

router = APIRouter(prefix="/custom-fields", tags=["custom fields"])
public_router = APIRouter(prefix="/public", tags=["public"], dependencies=[Depends(public_guard)])

_CHOICES = {FieldType.SELECT, FieldType.MULTISELECT}


def _admin(caller: Principal) -> None:
    if not caller.is_admin:
        raise Forbidden("only admins define custom fields")


def _check_options(kind: FieldType, options: list[str] | None) -> list[str]:
    cleaned = list(dict.fromkeys(o.strip() for o in options or [] if o.strip()))
    if kind in _CHOICES and not cleaned:
        raise Invalid("options", "select and multiselect fields need options")
    if kind not in _CHOICES and cleaned:
        raise Invalid("options", f"{kind.value} fields take no options")
    if any(len(o) > 100 for o in cleaned):
        raise Invalid("options", "options are at most 100 characters")
    return cleaned


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomFieldOut)
async def create_field(
    body: CustomFieldIn, caller: CurrentUser, session: SessionDep
) -> CustomFieldDefinition:
    """Define a field of tickets or customers (admins)."""
    _admin(caller)
    if body.categories and body.entity is not Entity.TICKET:
        raise Invalid("categories", "only ticket fields are limited to categories")
    if body.public and body.entity is not Entity.TICKET:
        raise Invalid("public", "only ticket fields appear on the public form")
    row = CustomFieldDefinition(
        entity=body.entity.value,
        key=body.key,
        label_zh=body.label_zh,
        label_en=body.label_en,
        type=body.type.value,
        options=_check_options(body.type, body.options),
        required=body.required,
        categories=list(dict.fromkeys(body.categories or [])),
        public=body.public,
        active=True,
        position=body.position,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a {body.entity.value} field with key {body.key!r} exists") from exc
    await record_audit(session, caller, "custom_field.create", "custom_field", row.id)
    await session.commit()
    return row


@router.get("", response_model=list[CustomFieldOut])
async def list_fields(
    _: CurrentUser, session: SessionDep, entity: Entity | None = None
) -> list[CustomFieldDefinition]:
    """Every definition (retired ones with active=false), in form order."""
    if entity is not None:
        return await rows_for(session, entity)
    rows = await session.scalars(
        select(CustomFieldDefinition).order_by(
            CustomFieldDefinition.entity, CustomFieldDefinition.position, CustomFieldDefinition.id
        )
    )
    return list(rows)


@router.patch("/{field_id}", response_model=CustomFieldOut)
async def patch_field(
    field_id: int, body: CustomFieldPatch, caller: CurrentUser, session: SessionDep
) -> CustomFieldDefinition:
    """Change labels, options or rules; stored values are never rewritten (stale ones flag)."""
    _admin(caller)
    row = await session.get(CustomFieldDefinition, field_id)
    if row is None:
        raise NotFound(f"custom field {field_id} not found")
    changes = body.model_dump(exclude_unset=True)
    if "options" in changes:
        changes["options"] = _check_options(FieldType(row.type), body.options)
    if changes.get("categories") and row.entity != Entity.TICKET.value:
        raise Invalid("categories", "only ticket fields are limited to categories")
    for name, value in changes.items():
        if value is None and name not in {"categories"}:
            raise Invalid(name, "may not be null")
        setattr(row, name, value if name != "categories" else list(value or []))
    await record_audit(session, caller, "custom_field.update", "custom_field", row.id, changes)
    await session.commit()
    return row


@public_router.get("/custom-fields", response_model=list[PublicFieldOut])
async def public_fields(session: SessionDep) -> list[CustomFieldDefinition]:
    """The ticket fields the feedback form shows (active and marked public)."""
    rows = await rows_for(session, Entity.TICKET)
    return [row for row in rows if row.public and row.active]
