"""Service orders: default stages, stage status, deadlines and survey scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class OrderStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class StageStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"


@dataclass(frozen=True)
class StagePlan:
    name: str
    due_in: timedelta
    owner_id: int | None = None


# 需求调研 → 方案设计 → 开发测试 → 验收交付, each due this long after the previous one.
DEFAULT_STAGES: tuple[StagePlan, ...] = (
    StagePlan("需求调研", timedelta(days=7)),
    StagePlan("方案设计", timedelta(days=7)),
    StagePlan("开发测试", timedelta(days=21)),
    StagePlan("验收交付", timedelta(days=7)),
)
SURVEY_DIMENSIONS = ("quality", "response_speed", "professionalism")
# A score at or below this opens a feedback ticket.
LOW_SCORE = 2


def stage_deadlines(start: datetime, plans: Sequence[StagePlan]) -> list[datetime]:
    """Stage deadlines back to back: each `due_in` counts from the previous deadline."""
    due, out = start, []
    for plan in plans:
        due = due + plan.due_in
        out.append(due)
    return out


def reminder_at(due_at: datetime, remind_before: timedelta, started_at: datetime) -> datetime:
    """When the owner is reminded: `remind_before` ahead of the deadline, not before the start."""
    return max(started_at, due_at - remind_before)


def complete_error(current_index: int | None, index: int, stage_count: int) -> str | None:
    """Stages complete in order; a completed order takes no more completions."""
    if index < 0 or index >= stage_count:
        return f"stage {index} does not exist"
    if current_index is None:
        return "every stage of this order is already complete"
    if index != current_index:
        return f"stage {current_index} must be completed before stage {index}"
    return None


def low_scores(scores: Mapping[str, int]) -> list[str]:
    """The dimensions scored at or below LOW_SCORE, in a stable order."""
    return [d for d in SURVEY_DIMENSIONS if scores.get(d, 5) <= LOW_SCORE]
