"""SQLAlchemy tables; import this package to register every table on Base.metadata."""

from models.audit import AuditEntry, LoginFailure
from models.base import Base
from models.customers import (
    Customer,
    CustomerContact,
    CustomerCounter,
    CustomerEvent,
    CustomerInteraction,
)
from models.followups import ContactPush, FollowUpEvent, FollowUpPlan
from models.intake import Category, ExternalRef, PublicToken, RoundRobinCursor, RoutingRule
from models.kb import KbArticle
from models.notifications import Notification
from models.notify_prefs import NotificationPreference, WebhookSubscription
from models.org import ApiKey, Department, Role, User
from models.pii_access import PiiAccess
from models.sales import (
    ApprovalRuleRow,
    Need,
    Quote,
    QuoteEvent,
    QuoteLine,
    SalesCounter,
    Solution,
)
from models.service_orders import (
    ServiceOrder,
    ServiceOrderEvent,
    ServiceOrderStage,
    SurveyResponse,
)
from models.sla import BusinessCalendar, SlaPolicy, SlaPolicyVersion
from models.tickets import IdempotencyKey, Ticket, TicketCounter, TicketEvent

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "BusinessCalendar",
    "Category",
    "ContactPush",
    "Customer",
    "CustomerContact",
    "CustomerCounter",
    "CustomerEvent",
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
    "ApprovalRuleRow",
    "KbArticle",
    "Need",
    "Quote",
    "QuoteEvent",
    "QuoteLine",
    "SalesCounter",
    "ServiceOrder",
    "ServiceOrderEvent",
    "ServiceOrderStage",
    "Solution",
    "SurveyResponse",
]
