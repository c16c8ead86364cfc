"""Policy administration rules: diffs, scope ranking, body checks, the simulator's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.policy_admin import (
    RuleError,
    check_ladder,
    check_targets,
    diff,
    normalized_scope,
    scope_rank,
)
from domain.sla import EscalationStep, Priority, SlaEvent, SlaEventKind, compute, standard_policy
from domain.sla_simulation import outcomes
from tests.unit.test_sla_properties import CALENDARS

HOUR = timedelta(hours=1)


def test_diff_names_changed_leaves_by_dotted_path() -> None:
    old = {"targets": {"urgent": {"first_response": "PT2H"}}, "escalation": [{"notify": "a"}]}
    new = {
        "targets": {"urgent": {"first_response": "PT1H"}},
        "escalation": [{"notify": "a"}, {"notify": "b"}],
        "warn_at": 0.7,
    }
    assert [c.as_json() for c in diff(old, new)] == [
        {"path": "escalation.1.notify", "from": None, "to": "b"},
        {"path": "targets.urgent.first_response", "from": "PT2H", "to": "PT1H"},
        {"path": "warn_at", "from": None, "to": 0.7},
    ]
    assert diff(new, new) == []


def test_the_most_specific_scope_ranks_highest_and_exclusions_are_minus_one() -> None:
    category_only = {"categories": ["billing"]}
    department_and_tier = {"departments": [3], "tiers": ["core"]}
    both = {"categories": ["billing"], "departments": [3]}
    ranks = [
        scope_rank(s, "billing", 3, "core") for s in (category_only, department_and_tier, both)
    ]
    assert ranks == [4, 3, 6]
    assert scope_rank(category_only, "refund", 3, "core") == -1
    assert scope_rank({"tiers": ["core"]}, "billing", 3, None) == -1
    assert normalized_scope({"categories": ["b", "a", "a"], "departments": []}) == {
        "categories": ["a", "b"]
    }


def test_resolution_before_first_response_and_an_unordered_ladder_are_refused() -> None:
    with pytest.raises(RuleError) as bad_targets:
        check_targets({Priority.LOW: (3 * HOUR, HOUR)})
    assert bad_targets.value.field == "targets.low.resolution"
    ladder = [
        EscalationStep(at=2 * HOUR, notify="assignee"),
        EscalationStep(when="no_progress", at=HOUR, notify="assignee"),
        EscalationStep(at=HOUR, notify="role:admin"),
    ]
    with pytest.raises(RuleError) as bad_ladder:
        check_ladder(ladder)
    assert bad_ladder.value.field == "escalation.2.at"
    check_ladder([EscalationStep(notify="assignee"), EscalationStep(at=HOUR, notify="x")])


_TARGETS = standard_policy().targets
TIGHT = standard_policy(version=2).model_copy(
    update={
        "targets": {p: t.model_copy(update={"first_response": HOUR}) for p, t in _TARGETS.items()}
    }
)
KINDS = [
    SlaEventKind.FIRST_RESPONSE,
    SlaEventKind.PAUSED,
    SlaEventKind.RESUMED,
    SlaEventKind.RESOLVED,
    SlaEventKind.REOPENED,
    SlaEventKind.PRIORITY_CHANGED,
]


@settings(max_examples=150, deadline=None)
@given(
    cal=st.sampled_from(CALENDARS),
    steps=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(1, 40 * 60), st.sampled_from(list(Priority))),
        max_size=6,
    ),
    later=st.integers(0, 200 * 60),
)
def test_simulator_outcomes_equal_the_clock(
    cal: object, steps: list[tuple[SlaEventKind, int, Priority]], later: int
) -> None:
    start = datetime(2025, 3, 3, 8, tzinfo=UTC)
    events = [SlaEvent(kind=SlaEventKind.CREATED, at=start, priority=Priority.NORMAL)]
    at = start
    for kind, minutes, priority in steps:
        at += timedelta(minutes=minutes)
        bump = priority if kind is SlaEventKind.PRIORITY_CHANGED else None
        events.append(SlaEvent(kind=kind, at=at, priority=bump))
    now = at + timedelta(minutes=later)
    pairs = outcomes([(standard_policy(), cal), (TIGHT, cal)], events, now)  # type: ignore[list-item]
    for policy, (first, resolution) in zip((standard_policy(), TIGHT), pairs, strict=True):
        state = compute(policy, cal, events, now)  # type: ignore[arg-type]
        assert (first.due_at, first.breached) == (
            state.first_response.due_at,
            state.first_response.breached,
        )
        assert (resolution.due_at, resolution.breached) == (
            state.resolution.due_at,
            state.resolution.breached,
        )
