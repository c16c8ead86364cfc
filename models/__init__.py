"""SQLAlchemy tables; import this package to register every table on Base.metadata."""

from models.attachments import Attachment
from models.audit import AuditEntry, LoginFailure
from models.base import Base
from models.console import ConsolePreference, ConsoleSession
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
from models.kb import KbArticle
from models.notifications import DeliveryBreaker, Notification
from models.notify_prefs import NotificationPreference, WebhookSubscription
from models.org import ApiKey, Department, Role, User
from models.pii_access import PiiAccess
from models.reports import (
    CustomerOrder,
    ReportRun,
    ReportSchedule,
    ReportWord,
    TicketReportFacts,
)
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
from models.sla_admin import CalendarVersion, PolicyRollout, PolicyRolloutItem
from models.tickets import IdempotencyKey, Ticket, TicketCounter, TicketEvent

__all__ = [
    "ApiKey",
    "Attachment",
    "AuditEntry",
    "Base",
    "BusinessCalendar",
    "CalendarVersion",
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
    "DeliveryBreaker",
    "CustomerOrder",
    "Department",
    "ExternalRef",
    "FollowUpEvent",
    "FollowUpPlan",
    "IdempotencyKey",
    "LoginFailure",
    "Notification",
    "NotificationPreference",
    "PiiAccess",
    "PolicyRollout",
    "PolicyRolloutItem",
    "PublicToken",
    "ReportRun",
    "ReportSchedule",
    "ReportWord",
    "Role",
    "RoundRobinCursor",
    "RoutingRule",
    "SlaPolicy",
    "SlaPolicyVersion",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketReportFacts",
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
    "ConsolePreference",
    "ConsoleSession",
]
