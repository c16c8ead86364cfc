"""Recorded ticket histories replay against today's workflow code: no silent non-determinism."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import TEST_DATA_CONVERTER
from workflows.customer_approval import CustomerApprovalWorkflow
from workflows.followup import FollowUpPlanWorkflow
from workflows.segments import SegmentRecomputeWorkflow
from workflows.ticket import TicketWorkflow

HISTORY_DIR = Path(__file__).resolve().parent / "histories"
# Ticket histories at the top; `python -m tests.replay.record_plans` writes plans/.
HISTORIES = sorted([*HISTORY_DIR.glob("*.json"), *HISTORY_DIR.glob("plans/*.json")])
# The paths `python -m tests.replay.record` and `record_plans` cover; a missing file would
# skip a path silently.
RECORDED = {
    "awaiting_customer",
    "dispatch_assigned",
    "dispatch_queued",
    "open_before_rebind",
    "rebound_open_ticket",
    "priority_change",
    "revisit_timeout",
    "standard_lifecycle",
    "unsatisfied_reopen",
    "urgent_escalations",
    "approval_ends_quietly",
    "approval_escalated_then_approved",
    "approval_rejected",
    "plan_due_reminder",
    "plan_pause_escalate",
    "plan_signals",
    "segments_move_a_plan",
    "segments_nothing_to_do",
}


def test_every_main_path_has_a_recorded_history() -> None:
    assert {path.stem for path in HISTORIES} >= RECORDED


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"replay-{path.stem}", text)
    # The codec converter: histories recorded before encryption still decode (passthrough).
    replayer = Replayer(
        workflows=[
            TicketWorkflow,
            FollowUpPlanWorkflow,
            CustomerApprovalWorkflow,
            SegmentRecomputeWorkflow,
        ],
        data_converter=TEST_DATA_CONVERTER,
    )
    # Raises on any non-determinism (a command added, removed or reordered) or task failure.
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
