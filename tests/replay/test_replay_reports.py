"""Recorded ReportRun histories replay against today's workflow code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import TEST_DATA_CONVERTER
from workflows.report_run import ReportRunWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories" / "reports").glob("*.json"))


def test_the_report_run_has_a_recorded_history() -> None:
    assert {path.stem for path in HISTORIES} >= {"report_run_mailed"}


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_report_run_history_replays(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"replay-{path.stem}", text)
    replayer = Replayer(workflows=[ReportRunWorkflow], data_converter=TEST_DATA_CONVERTER)
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
