"""Who sees which customers, and the API view (contacts masked for read-only callers)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from api.customers.schemas import ContactOut, CustomerOut
from api.deps import Principal
from core.errors import Forbidden, NotFound
from domain.masking import mask_email, mask_phone
from models import Customer, CustomerContact, Ticket


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
    return (
        principal.is_admin
        or customer.owner_id == principal.user_id
        or (principal.role == "manager" and principal.department_id == customer.department_id)
    )


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


def customer_view(
    customer: Customer, contacts: Sequence[CustomerContact], principal: Principal
) -> CustomerOut:
    """The API shape; phones and emails masked for callers not entitled to them."""
    clear = may_see_contacts(principal, customer)
    data = {
        name: getattr(customer, name) for name in CustomerOut.model_fields if name != "contacts"
    }
    data["tags"] = list(customer.tags or [])
    data["contacts"] = [
        ContactOut(
            id=c.id,
            name=c.name,
            title=c.title,
            phone=c.phone if clear or not c.phone else mask_phone(c.phone),
            email=c.email if clear or not c.email else mask_email(c.email),
            primary=c.is_primary,
        )
        for c in contacts
    ]
    return CustomerOut.model_validate(data)


async def views(
    session: AsyncSession, customers: Sequence[Customer], principal: Principal
) -> list[CustomerOut]:
    contacts = await contacts_of(session, [c.id for c in customers])
    return [customer_view(c, contacts[c.id], principal) for c in customers]
