"""Routing rules: which department and which person a new ticket goes to (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, Field


class AssigneeStrategy(StrEnum):
    FIXED = "fixed"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class DispatchOutcome(StrEnum):
    ASSIGNED = "assigned"  # a person got the ticket
    QUEUED = "queued"  # a department got it, nobody was available
    UNROUTED = "unrouted"  # no rule applies; the ticket stays where it is


class RoutingRule(BaseModel):
    """Match criteria (None / empty = any) and where a matching ticket goes."""

    id: int | None = None  # None: the implicit rule of a category's default department
    position: int = 100
    category: str | None = None
    channel: str | None = None
    customer_tier: str | None = None
    keywords: list[str] = Field(default_factory=list)
    department_id: int
    strategy: AssigneeStrategy = AssigneeStrategy.LEAST_LOADED
    assignee_id: int | None = None

    @property
    def specificity(self) -> int:
        """How many criteria the rule sets: more criteria, more specific."""
        return sum(
            (
                self.category is not None,
                self.channel is not None,
                self.customer_tier is not None,
                bool(self.keywords),
            )
        )


class TicketFacts(BaseModel):
    """What routing may look at."""

    category: str
    channel: str
    customer_tier: str | None = None
    text: str = ""
    # Set when staff chose the department: only rules into that department apply.
    department_id: int | None = None


class Candidate(BaseModel):
    """An active agent of the department and how many open tickets they hold."""

    user_id: int
    open_tickets: int = 0


class DispatchRequest(BaseModel):
    workflow_id: str
    ticket_id: int
    facts: TicketFacts


class DispatchDecision(BaseModel):
    """The activity's answer; `rule_id` None means the category's default department."""

    outcome: DispatchOutcome
    department_id: int | None = None
    assignee_id: int | None = None
    rule_id: int | None = None
    strategy: AssigneeStrategy | None = None
    reason: str | None = None


def matches(rule: RoutingRule, facts: TicketFacts) -> bool:
    """Every criterion the rule sets holds; any keyword found (case-insensitive) is enough."""
    if facts.department_id is not None and rule.department_id != facts.department_id:
        return False
    if rule.category is not None and rule.category != facts.category:
        return False
    if rule.channel is not None and rule.channel != facts.channel:
        return False
    if rule.customer_tier is not None and rule.customer_tier != facts.customer_tier:
        return False
    if rule.keywords:
        text = facts.text.casefold()
        return any(word.casefold() in text for word in rule.keywords if word.strip())
    return True


def select_rule(rules: Sequence[RoutingRule], facts: TicketFacts) -> RoutingRule | None:
    """The most specific matching rule; ties go to the lower position, then the lower id."""
    found = [rule for rule in rules if matches(rule, facts)]
    if not found:
        return None
    return min(found, key=lambda r: (-r.specificity, r.position, r.id or 0))


def default_rule(facts: TicketFacts, category_department_id: int | None) -> RoutingRule | None:
    """Without a matching rule, an unplaced ticket goes to its category's department."""
    if facts.department_id is not None or category_department_id is None:
        return None
    return RoutingRule(
        department_id=category_department_id,
        category=facts.category,
        strategy=AssigneeStrategy.LEAST_LOADED,
    )


def choose_assignee(
    rule: RoutingRule, candidates: Sequence[Candidate], last_assignee_id: int | None = None
) -> int | None:
    """The person the rule's strategy picks among available candidates, or None."""
    available = sorted(candidates, key=lambda c: c.user_id)
    if rule.strategy is AssigneeStrategy.FIXED:
        ids = {c.user_id for c in available}
        return rule.assignee_id if rule.assignee_id in ids else None
    if not available:
        return None
    if rule.strategy is AssigneeStrategy.ROUND_ROBIN:
        if last_assignee_id is None:
            return available[0].user_id
        after = [c.user_id for c in available if c.user_id > last_assignee_id]
        return after[0] if after else available[0].user_id
    return min(available, key=lambda c: (c.open_tickets, c.user_id)).user_id


def decide(
    rule: RoutingRule | None,
    candidates: Sequence[Candidate],
    last_assignee_id: int | None = None,
) -> DispatchDecision:
    """The dispatch decision for the selected rule and the department's candidates."""
    if rule is None:
        return DispatchDecision(outcome=DispatchOutcome.UNROUTED, reason="no routing rule applies")
    assignee = choose_assignee(rule, candidates, last_assignee_id)
    reason = None
    if assignee is None:
        reason = (
            "the fixed assignee is not available"
            if rule.strategy is AssigneeStrategy.FIXED
            else "no active agent in the department"
        )
    return DispatchDecision(
        outcome=DispatchOutcome.QUEUED if assignee is None else DispatchOutcome.ASSIGNED,
        department_id=rule.department_id,
        assignee_id=assignee,
        rule_id=rule.id,
        strategy=rule.strategy,
        reason=reason,
    )
