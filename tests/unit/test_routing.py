"""Routing rules: specificity, keywords, tie-breaks and the three assignee strategies."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from domain.routing import (
    AssigneeStrategy,
    Candidate,
    DispatchOutcome,
    RoutingRule,
    TicketFacts,
    choose_assignee,
    decide,
    default_rule,
    select_rule,
)

QUALITY = TicketFacts(
    category="product_quality", channel="web_form", text="The screen cracked after a day"
)


def rule(rule_id: int, department_id: int = 1, **criteria: object) -> RoutingRule:
    return RoutingRule.model_validate({"id": rule_id, "department_id": department_id, **criteria})


def people(*loads: tuple[int, int]) -> list[Candidate]:
    return [Candidate(user_id=user_id, open_tickets=n) for user_id, n in loads]


def test_category_rule_routes_its_category_only() -> None:
    rules = [rule(1, 10, category="price_objection"), rule(2, 20, category="product_quality")]
    chosen = select_rule(rules, QUALITY)
    assert chosen is not None
    assert chosen.department_id == 20


def test_more_specific_rule_beats_a_general_one_whatever_the_order() -> None:
    general = rule(1, 10, category="product_quality", position=1)
    with_keyword = rule(2, 20, category="product_quality", keywords=["screen"], position=500)
    for rules in ([general, with_keyword], [with_keyword, general]):
        chosen = select_rule(rules, QUALITY)
        assert chosen is not None
        assert chosen.id == 2


def test_keywords_match_case_insensitively_and_in_chinese() -> None:
    rules = [rule(1, 10, keywords=["SCREEN"]), rule(2, 20, keywords=["退款", "refund"])]
    english = select_rule(rules, QUALITY)
    assert english is not None
    assert english.id == 1
    chinese = TicketFacts(category="price_objection", channel="email", text="我要申请退款")
    found = select_rule(rules, chinese)
    assert found is not None
    assert found.id == 2
    assert select_rule(rules, TicketFacts(category="x", channel="api", text="hello")) is None


def test_channel_and_customer_tier_must_match_when_set() -> None:
    rules = [
        rule(1, 10, category="product_quality", channel="email"),
        rule(2, 20, category="product_quality", customer_tier="core"),
    ]
    assert select_rule(rules, QUALITY) is None
    core = QUALITY.model_copy(update={"customer_tier": "core"})
    chosen = select_rule(rules, core)
    assert chosen is not None
    assert chosen.id == 2


def test_equal_specificity_goes_to_lower_position_then_lower_id() -> None:
    rules = [
        rule(3, 30, category="product_quality", position=5),
        rule(2, 20, category="product_quality", position=5),
        rule(1, 10, category="product_quality", position=9),
    ]
    chosen = select_rule(rules, QUALITY)
    assert chosen is not None
    assert chosen.id == 2


@given(st.permutations(range(6)))
def test_the_choice_never_depends_on_the_order_rules_are_loaded(order: list[int]) -> None:
    rules = [
        rule(1, 1, category="product_quality"),
        rule(2, 2, category="product_quality", position=50),
        rule(3, 3, keywords=["cracked"]),
        rule(4, 4, category="product_quality", keywords=["cracked"], position=200),
        rule(5, 5, category="product_quality", keywords=["screen"], position=200),
        rule(6, 6, channel="web_form"),
    ]
    chosen = select_rule([rules[i] for i in order], QUALITY)
    assert chosen is not None
    assert chosen.id == 4


def test_a_department_chosen_by_staff_limits_routing_to_that_department() -> None:
    rules = [rule(1, 10, category="product_quality"), rule(2, 20, channel="web_form")]
    pinned = QUALITY.model_copy(update={"department_id": 20})
    chosen = select_rule(rules, pinned)
    assert chosen is not None
    assert chosen.id == 2
    assert select_rule(rules, QUALITY.model_copy(update={"department_id": 99})) is None


def test_without_a_rule_an_unplaced_ticket_goes_to_its_category_department() -> None:
    fallback = default_rule(QUALITY, category_department_id=7)
    assert fallback is not None
    assert (fallback.id, fallback.department_id) == (None, 7)
    assert fallback.strategy is AssigneeStrategy.LEAST_LOADED
    assert default_rule(QUALITY.model_copy(update={"department_id": 3}), 7) is None
    assert default_rule(QUALITY, None) is None


def test_least_loaded_picks_the_fewest_open_tickets_ties_to_lowest_id() -> None:
    least = rule(1, strategy="least_loaded")
    assert choose_assignee(least, people((5, 3), (9, 1), (7, 2))) == 9
    assert choose_assignee(least, people((9, 1), (4, 1), (7, 1))) == 4


def test_round_robin_rotates_in_id_order_and_wraps() -> None:
    rr = rule(1, strategy="round_robin")
    team = people((30, 9), (10, 0), (20, 5))
    turns: list[int | None] = []
    last = None
    for _ in range(4):
        last = choose_assignee(rr, team, last)
        turns.append(last)
    assert turns == [10, 20, 30, 10]
    # The last assignee left the team: the turn goes to the next id after them.
    assert choose_assignee(rr, people((10, 0), (30, 0)), 20) == 30


def test_fixed_assigns_the_named_person_only_while_available() -> None:
    fixed = rule(1, strategy="fixed", assignee_id=42)
    assert choose_assignee(fixed, people((42, 50), (1, 0))) == 42
    assert choose_assignee(fixed, people((1, 0))) is None


def test_decision_assigns_queues_or_leaves_unrouted() -> None:
    least = rule(8, 3, strategy="least_loaded")
    assigned = decide(least, people((5, 0)))
    assert (assigned.outcome, assigned.assignee_id, assigned.rule_id) == (
        DispatchOutcome.ASSIGNED,
        5,
        8,
    )
    assert assigned.strategy is AssigneeStrategy.LEAST_LOADED
    queued = decide(least, [])
    assert (queued.outcome, queued.department_id, queued.assignee_id) == (
        DispatchOutcome.QUEUED,
        3,
        None,
    )
    assert queued.reason
    assert decide(None, people((5, 0))).outcome is DispatchOutcome.UNROUTED


def test_least_loaded_spreads_a_burst_evenly() -> None:
    least = rule(1, strategy="least_loaded")
    loads = {1: 0, 2: 0, 3: 0}
    rng = random.Random(7)
    for _ in range(30):
        team = [Candidate(user_id=u, open_tickets=n) for u, n in loads.items()]
        rng.shuffle(team)
        chosen = choose_assignee(least, team)
        assert chosen is not None
        loads[chosen] += 1
    assert loads == {1: 10, 2: 10, 3: 10}
