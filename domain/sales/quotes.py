"""Quote status machine and approval rules (approver by total or discount over thresholds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    ACCEPTED = "accepted"
    NEGOTIATING = "negotiating"
    DECLINED = "declined"
    EXPIRED = "expired"


class QuoteResponse(StrEnum):
    ACCEPT = "accept"
    NEGOTIATE = "negotiate"
    DECLINE = "decline"


S = QuoteStatus
TRANSITIONS: dict[QuoteStatus, frozenset[QuoteStatus]] = {
    S.DRAFT: frozenset({S.PENDING_APPROVAL, S.APPROVED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.SENT, S.EXPIRED}),
    S.REJECTED: frozenset(),
    S.SENT: frozenset({S.ACCEPTED, S.NEGOTIATING, S.DECLINED, S.EXPIRED}),
    S.ACCEPTED: frozenset(),
    S.NEGOTIATING: frozenset(),
    S.DECLINED: frozenset(),
    S.EXPIRED: frozenset(),
}
# A revision starts a new draft version from these; the old version stays readable.
REVISABLE = frozenset({S.REJECTED, S.APPROVED, S.SENT, S.NEGOTIATING, S.DECLINED, S.EXPIRED})
RESPONSE_STATUS = {
    QuoteResponse.ACCEPT: S.ACCEPTED,
    QuoteResponse.NEGOTIATE: S.NEGOTIATING,
    QuoteResponse.DECLINE: S.DECLINED,
}


def transition_error(current: QuoteStatus, target: QuoteStatus) -> str | None:
    """Why `current → target` is refused (a 409), or None when allowed."""
    if target in TRANSITIONS[current]:
        return None
    return f"a {current.value} quote cannot become {target.value}"


def revise_error(current: QuoteStatus, superseded: bool) -> str | None:
    if superseded:
        return "this version was already revised; revise the latest version"
    if current in REVISABLE:
        return None
    return f"a {current.value} quote cannot be revised"


@dataclass(frozen=True)
class ApprovalRule:
    """Ask `approver_id` when the total exceeds `min_total` or any discount `min_discount_pct`."""

    id: int
    level: int
    approver_id: int
    min_total: Decimal | None = None
    min_discount_pct: Decimal | None = None
    escalate_to_id: int | None = None


@dataclass(frozen=True)
class ApprovalStep:
    level: int
    approver_id: int
    escalate_to_id: int | None
    rule_ids: tuple[int, ...]


def rule_matches(rule: ApprovalRule, total: Decimal, discount_pct: Decimal) -> bool:
    by_total = rule.min_total is not None and total > rule.min_total
    by_discount = rule.min_discount_pct is not None and discount_pct > rule.min_discount_pct
    return by_total or by_discount


def approval_chain(
    rules: Sequence[ApprovalRule], total: Decimal, discount_pct: Decimal
) -> list[ApprovalStep]:
    """The approvers to ask, lowest level first; one step per level (its first matching rule).

    `discount_pct` is the largest line discount. An approver named on several levels is
    asked once, at the highest of them. No matching rule: the quote needs no approval.
    """
    by_level: dict[int, list[ApprovalRule]] = {}
    for rule in sorted(rules, key=lambda r: (r.level, r.id)):
        if rule_matches(rule, total, discount_pct):
            by_level.setdefault(rule.level, []).append(rule)
    steps = [
        ApprovalStep(
            level=level,
            approver_id=found[0].approver_id,
            escalate_to_id=found[0].escalate_to_id,
            rule_ids=tuple(r.id for r in found),
        )
        for level, found in sorted(by_level.items())
    ]
    last_level = {step.approver_id: step.level for step in steps}
    return [s for s in steps if last_level[s.approver_id] == s.level]
