"""Custom search attributes: how ops find tickets and plans in the Temporal UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

TICKET_NUMBER = SearchAttributeKey.for_keyword("TicketNumber")
TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
PRIORITY = SearchAttributeKey.for_keyword("Priority")
DEPARTMENT = SearchAttributeKey.for_keyword("Department")
ASSIGNEE = SearchAttributeKey.for_keyword("Assignee")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
CUSTOMER_CODE = SearchAttributeKey.for_keyword("CustomerCode")
OWNER = SearchAttributeKey.for_keyword("Owner")
PLAN_STATUS = SearchAttributeKey.for_keyword("PlanStatus")
NEXT_DUE = SearchAttributeKey.for_datetime("NextDue")

ALL_KEYS: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    TICKET_NUMBER,
    TICKET_STATUS,
    PRIORITY,
    DEPARTMENT,
    ASSIGNEE,
    SLA_BREACHED,
    ESCALATION_LEVEL,
    CUSTOMER_CODE,
    OWNER,
    PLAN_STATUS,
    NEXT_DUE,
)

_CLI_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "BOOL": "Bool",
    "INT": "Int",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "FLOAT": "Double",
    "KEYWORD_LIST": "KeywordList",
}


def cli_definitions() -> dict[str, str]:
    """Name → type as `temporal server start-dev --search-attribute` expects them."""
    return {key.name: _CLI_TYPE_NAMES[key.indexed_value_type.name] for key in ALL_KEYS}
