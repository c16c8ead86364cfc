"""Quote money, the quote status machine, approval rules, stages, survey scores and links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.sales.links import link_token, token_id
from domain.sales.money import LineInput, money_text, price_line, quote_totals, to_fen
from domain.sales.quotes import (
    TRANSITIONS,
    ApprovalRule,
    QuoteStatus,
    approval_chain,
    revise_error,
    transition_error,
)
from domain.sales.service_orders import (
    DEFAULT_STAGES,
    complete_error,
    low_scores,
    reminder_at,
    stage_deadlines,
)

D = Decimal


def test_point_one_times_three_is_exactly_point_three() -> None:
    totals = quote_totals([LineInput("a", D("3"), D("0.1"))])
    assert totals.total == D("0.30")
    assert money_text(totals.total) == "0.30"


def test_a_third_discount_rounds_half_up_to_the_fen() -> None:
    line = price_line(LineInput("a", D("1"), D("100.00"), D("33.33")))
    assert line.discount == D("33.33")
    assert line.amount == D("66.67")
    # 0.005 rounds up, never to even.
    assert to_fen(D("0.005")) == D("0.01")
    assert to_fen(D("2.675")) == D("2.68")


def test_lines_are_rounded_one_by_one_so_printed_lines_add_up() -> None:
    lines = [LineInput("a", D("1"), D("0.015"), D("0")), LineInput("b", D("1"), D("0.015"))]
    totals = quote_totals(lines)
    assert [p.amount for p in totals.lines] == [D("0.02"), D("0.02")]
    assert totals.total == sum(p.amount for p in totals.lines) == D("0.04")


def test_totals_and_discount_percentages() -> None:
    totals = quote_totals(
        [
            LineInput("设备", D("2"), D("19999.99"), D("15")),
            LineInput("服务", D("1.5"), D("333.33"), D("0")),
        ]
    )
    assert totals.subtotal == D("39999.98") + D("500.00")
    assert totals.discount_total == D("6000.00")
    assert totals.total == totals.subtotal - totals.discount_total
    assert totals.max_discount_pct == D("15")
    assert isinstance(totals.total, Decimal)


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c in QuoteStatus for t in QuoteStatus if t not in TRANSITIONS[c]],
)
def test_every_step_outside_the_machine_is_refused(
    current: QuoteStatus, target: QuoteStatus
) -> None:
    assert transition_error(current, target) is not None


def test_allowed_steps() -> None:
    S = QuoteStatus
    assert transition_error(S.DRAFT, S.PENDING_APPROVAL) is None
    assert transition_error(S.PENDING_APPROVAL, S.APPROVED) is None
    assert transition_error(S.SENT, S.ACCEPTED) is None
    assert revise_error(S.REJECTED, superseded=False) is None
    assert revise_error(S.DRAFT, superseded=False) is not None
    assert revise_error(S.PENDING_APPROVAL, superseded=False) is not None
    assert revise_error(S.REJECTED, superseded=True) is not None


RULES = [
    ApprovalRule(1, level=1, approver_id=10, min_total=D("50000"), min_discount_pct=D("15")),
    ApprovalRule(2, level=2, approver_id=20, min_total=D("500000"), escalate_to_id=30),
]


def test_small_quote_needs_no_approval() -> None:
    assert approval_chain(RULES, D("49999.99"), D("10")) == []
    assert approval_chain(RULES, D("50000.00"), D("15")) == []  # "over" is strictly above


def test_manager_by_amount_or_discount() -> None:
    by_amount = approval_chain(RULES, D("50000.01"), D("0"))
    by_discount = approval_chain(RULES, D("100"), D("15.01"))
    assert [s.approver_id for s in by_amount] == [10]
    assert [s.approver_id for s in by_discount] == [10]


def test_director_after_manager_above_half_a_million() -> None:
    chain = approval_chain(RULES, D("600000"), D("0"))
    assert [(s.level, s.approver_id, s.escalate_to_id) for s in chain] == [
        (1, 10, None),
        (2, 20, 30),
    ]


def test_one_person_on_two_levels_is_asked_once_at_the_higher() -> None:
    rules = [RULES[0], ApprovalRule(3, level=2, approver_id=10, min_total=D("1"))]
    assert [(s.level, s.approver_id) for s in approval_chain(rules, D("60000"), D("0"))] == [
        (2, 10)
    ]


def test_stage_deadlines_follow_each_other() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    due = stage_deadlines(start, DEFAULT_STAGES)
    assert [s.name for s in DEFAULT_STAGES] == ["需求调研", "方案设计", "开发测试", "验收交付"]
    assert due[0] == start + timedelta(days=7)
    assert due[-1] == start + timedelta(days=42)
    assert reminder_at(due[0], timedelta(days=1), start) == due[0] - timedelta(days=1)
    assert reminder_at(start + timedelta(hours=1), timedelta(days=1), start) == start


def test_stages_complete_in_order() -> None:
    assert complete_error(0, 0, 4) is None
    assert complete_error(0, 1, 4) is not None
    assert complete_error(None, 3, 4) is not None
    assert complete_error(0, 9, 4) is not None


def test_low_scores() -> None:
    assert low_scores({"quality": 5, "response_speed": 2, "professionalism": 3}) == [
        "response_speed"
    ]
    assert low_scores({"quality": 3, "response_speed": 3, "professionalism": 3}) == []


def test_links_open_only_their_own_object() -> None:
    secret = b"s" * 32
    token = link_token(secret, "quote", 42)
    assert token_id(secret, "quote", token) == 42
    assert token_id(secret, "survey", token) is None
    assert token_id(b"x" * 32, "quote", token) is None
    assert token_id(secret, "quote", "42.deadbeef") is None
    assert token_id(secret, "quote", "garbage") is None
