"""SQLAlchemy tables; import this package to register every table on Base.metadata."""

from models.attachments import Attachment
from models.audit import AuditEntry, LoginFailure
from models.base import Base
from models.custom_fields import CustomFieldDefinition
from models.customers import (
    Customer,
    CustomerContact,
    CustomerCounter,
    CustomerEvent,
    CustomerInteraction,
)
from models.followups import ContactPush, FollowUpEvent, FollowUpPlan
from models.imports import CustomerImportBatch, CustomerImportJob
from models.intake import Category, ExternalRef, PublicToken, RoundRobinCursor, RoutingRule
from models.notifications import Notification
from models.notify_prefs import NotificationPreference, WebhookSubscription
from models.org import ApiKey, Department, Role, User
from models.pii_access import PiiAccess
from models.sla import BusinessCalendar, SlaPolicy, SlaPolicyVersion
from models.tickets import IdempotencyKey, Ticket, TicketCounter, TicketEvent

__all__ = [
    "ApiKey",
    "Attachment",
    "AuditEntry",
    "Base",
    "BusinessCalendar",
    "Category",
    "ContactPush",
    "CustomFieldDefinition",
    "Customer",
    "CustomerContact",
    "CustomerCounter",
    "CustomerEvent",
    "CustomerImportBatch",
    "CustomerImportJob",
    "CustomerInteraction",
    "Department",
    "ExternalRef",
    "FollowUpEvent",
    "FollowUpPlan",
    "IdempotencyKey",
    "LoginFailure",
    "Notification",
    "NotificationPreference",
    "PiiAccess",
    "PublicToken",
    "Role",
    "RoundRobinCursor",
    "RoutingRule",
    "SlaPolicy",
    "SlaPolicyVersion",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "User",
    "WebhookSubscription",
]
