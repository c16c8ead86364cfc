"""Recorded quote and service-order histories replay against today's workflow code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import TEST_DATA_CONVERTER
from tests.replay.record_sales import SALES_HISTORIES, SCENARIOS
from workflows.quote import QuoteWorkflow
from workflows.service_order import ServiceOrderWorkflow

HISTORIES = sorted(SALES_HISTORIES.glob("*.json"))


def test_every_sales_path_has_a_recorded_history() -> None:
    assert {path.stem for path in HISTORIES} >= set(SCENARIOS)


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_sales_history_replays_deterministically(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(f"replay-{path.stem}", text)
    replayer = Replayer(
        workflows=[QuoteWorkflow, ServiceOrderWorkflow], data_converter=TEST_DATA_CONVERTER
    )
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
