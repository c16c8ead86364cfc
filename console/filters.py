"""The ticket list's filters as URL query parameters (bad values are dropped, never a 500)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from api.tickets.listing import TicketFilters
from domain.sla import Priority
from domain.tickets import TicketStatus

DEFAULT_LIMIT = 50


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


@dataclass(frozen=True)
class ListParams:
    """status, priority, category, department, assignee, breached and text, as in the URL."""

    status: str = ""
    priority: str = ""
    category: str = ""
    department_id: int | None = None
    assignee_id: int | None = None
    breached: str = ""
    q: str = ""
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ListParams:
        """Known values kept, unknown ones dropped."""
        status = query.get("status", "")
        priority = query.get("priority", "")
        breached = query.get("breached", "")
        return cls(
            status=status if status in set(TicketStatus) else "",
            priority=priority if priority in set(Priority) else "",
            category=query.get("category", "")[:64],
            department_id=_int(query.get("department_id")),
            assignee_id=_int(query.get("assignee_id")),
            breached=breached if breached in ("true", "false") else "",
            q=query.get("q", "")[:200],
            limit=min(_int(query.get("limit")) or DEFAULT_LIMIT, 200),
        )

    def filters(self) -> TicketFilters:
        """The shared list query's filters."""
        return TicketFilters(
            status=TicketStatus(self.status) if self.status else None,
            priority=Priority(self.priority) if self.priority else None,
            department_id=self.department_id,
            assignee_id=self.assignee_id,
            breached={"true": True, "false": False}.get(self.breached),
            category=self.category or None,
            q=self.q or None,
        )

    def query_string(self) -> str:
        """The filters back as a query string (for links that keep them)."""
        pairs = {k: v for k, v in vars(self).items() if v not in ("", None, DEFAULT_LIMIT)}
        return urlencode(pairs)
