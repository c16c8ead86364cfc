"""Inputs and results of the policy rollout workflow and its activities."""

from __future__ import annotations

from pydantic import BaseModel

# Tickets per page (one activity) and updates in flight at once within a page.
PAGE_SIZE = 100
CONCURRENCY = 16


class RolloutInput(BaseModel):
    rollout_id: int
    policy_id: int
    to_version: int
    calendar_version: int
    actor: str
    page_size: int = PAGE_SIZE
    concurrency: int = CONCURRENCY
    # Keyset cursor: the highest ticket id already handled (carried across continue-as-new).
    after_id: int = 0


class RolloutPage(BaseModel):
    rollout_id: int
    policy_id: int
    to_version: int
    calendar_version: int
    actor: str
    after_id: int
    limit: int
    concurrency: int


class PageResult(BaseModel):
    """How far the page got (`last_id`) and what happened to its tickets."""

    last_id: int
    seen: int
    rebound: int = 0
    skipped: int = 0
    failed: int = 0


class RolloutRef(BaseModel):
    rollout_id: int
    policy_id: int
    to_version: int
    calendar_version: int


class RolloutCounts(BaseModel):
    total: int
    rebound: int
    skipped: int
    failed: int
