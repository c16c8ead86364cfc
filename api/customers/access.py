"""Who sees which customers, and the API view (contacts masked for read-only callers)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from api.customers.schemas import ContactOut, CustomerOut
from api.deps import Principal
from core import pii
from core.errors import Forbidden, NotFound
from domain.custom_fields import Entity, stale
from domain.masking import mask_email, mask_phone
from models import Customer, CustomerContact, Ticket
from services.custom_fields import service as custom_fields


def edit_scope(principal: Principal) -> ColumnElement[bool] | None:
    """Customers the caller may change: admins all, managers their department's, agents own."""
    if principal.is_admin:
        return None
    if principal.role == "manager":
        return Customer.department_id == principal.department_id
    return Customer.owner_id == principal.user_id


def read_scope(principal: Principal) -> ColumnElement[bool] | None:
    """Editable customers, plus (read-only, masked) those of tickets the caller works on."""
    own = edit_scope(principal)
    if own is None:
        return None
    if principal.role == "manager":
        works_on = Ticket.department_id == principal.department_id
    else:
        works_on = Ticket.assignee_id == principal.user_id
    linked = exists().where(Ticket.customer_id == Customer.id, works_on)
    return own | linked


def may_see_contacts(principal: Principal, customer: Customer) -> bool:
    """Clear text for admins, the owner and managers of the customer's department."""
    return contact_reason(principal, customer) is not None


async def get_customer(
    session: AsyncSession, principal: Principal, customer_id: int, *, edit: bool = False
) -> Customer:
    """One customer within the caller's scope; 404 otherwise (403 for read-only access)."""
    query = select(Customer).where(Customer.id == customer_id)
    condition = read_scope(principal)
    if condition is not None:
        query = query.where(condition)
    customer = await session.scalar(query)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    if edit and not may_see_contacts(principal, customer):
        raise Forbidden("only the owner, the department's managers and admins change a customer")
    return customer


async def contacts_of(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[CustomerContact]]:
    rows = await session.scalars(
        select(CustomerContact)
        .where(CustomerContact.customer_id.in_(customer_ids))
        .order_by(CustomerContact.is_primary.desc(), CustomerContact.id)
    )
    grouped: dict[int, list[CustomerContact]] = {cid: [] for cid in customer_ids}
    for row in rows:
        grouped[row.customer_id].append(row)
    return grouped


def contact_reason(principal: Principal, customer: Customer) -> str | None:
    """Why the caller may see the customer's contacts in clear text; None: masked."""
    if principal.is_admin:
        return "admin"
    if customer.owner_id == principal.user_id:
        return "owner"
    if principal.role == "manager" and principal.department_id == customer.department_id:
        return "department_manager"
    return None


def customer_view(
    customer: Customer,
    contacts: Sequence[CustomerContact],
    principal: Principal,
    session: AsyncSession | None = None,
) -> CustomerOut:
    """The API shape; phones and emails masked for callers not entitled to them.

    Clear-text contacts are recorded in the PII access log of `session`'s transaction.
    """
    reason = contact_reason(principal, customer)
    data = {
        name: getattr(customer, name)
        for name in CustomerOut.model_fields
        if name not in {"contacts", "custom_field_flags"}
    }
    data["tags"] = list(customer.tags or [])
    out: list[ContactOut] = []
    shown: set[str] = set()
    for c in contacts:
        name, phone, email = (
            pii.unseal_opt(c.name),
            pii.unseal_opt(c.phone),
            pii.unseal_opt(c.email),
        )
        if reason:
            shown |= {f for f, v in (("name", name), ("phone", phone), ("email", email)) if v}
        out.append(
            ContactOut(
                id=c.id,
                name=name,
                title=c.title,
                phone=phone if reason or not phone else mask_phone(phone),
                email=email if reason or not email else mask_email(email),
                primary=c.is_primary,
            )
        )
    data["contacts"] = out
    if reason and session is not None:
        pii.record_access(session, principal.user_id, "customer", customer.id, shown, reason)
    return CustomerOut.model_validate(data)


async def views(
    session: AsyncSession, customers: Sequence[Customer], principal: Principal
) -> list[CustomerOut]:
    contacts = await contacts_of(session, [c.id for c in customers])
    out = [customer_view(c, contacts[c.id], principal, session) for c in customers]
    if any(view.custom_fields for view in out):
        defs = await custom_fields.definitions(session, Entity.CUSTOMER)
        for view in out:
            view.custom_field_flags = stale(defs, view.custom_fields)
    return out
