"""SQLAlchemy tables; import this package to register every table on Base.metadata."""

from models.base import Base
from models.notifications import Notification
from models.org import ApiKey, Department, Role, User
from models.sla import BusinessCalendar, SlaPolicy, SlaPolicyVersion
from models.tickets import IdempotencyKey, Ticket, TicketCounter, TicketEvent

__all__ = [
    "ApiKey",
    "Base",
    "BusinessCalendar",
    "Department",
    "IdempotencyKey",
    "Notification",
    "Role",
    "SlaPolicy",
    "SlaPolicyVersion",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "User",
]
