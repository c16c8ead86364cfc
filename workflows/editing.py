"""Pieces every stateful workflow shares: serialised edits and minimal search-attribute upserts."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from workflows import search_attributes as sa

_KEYS = {key.name: key for key in sa.ALL_KEYS}


class EditGate:
    """Waits until the workflow's record exists, then serialises edits so events keep order."""

    def __init__(self, ready: Callable[[], bool], lock: asyncio.Lock) -> None:
        self._ready = ready
        self._lock = lock

    async def __aenter__(self) -> None:
        await workflow.wait_condition(self._ready)
        await self._lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()


def upsert_changed(known: dict[str, object], wanted: dict[str, object]) -> None:
    """Upsert only the attributes whose value changed (each upsert is a billable action)."""
    updates: list[SearchAttributeUpdate[Any]] = []
    for name, value in wanted.items():
        if known.get(name) != value:
            key = _KEYS[name]
            updates.append(key.value_unset() if value is None else key.value_set(value))
            known[name] = value
    if updates:
        workflow.upsert_search_attributes(updates)


class DeadlineTimer:
    """One durable timer aimed at the next deadline, kept while that deadline stays the same.

    Re-aiming only when the deadline moves means updates that leave it alone start no timer
    (each started timer is a billable action).
    """

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._at: datetime | None = None

    def aim(self, deadline: datetime | None) -> None:
        """Point the timer at `deadline` (None: no deadline; past: due now, no timer)."""
        if deadline == self._at:
            return
        self.cancel()
        self._at = deadline
        delay = 0.0 if deadline is None else (deadline - workflow.now()).total_seconds()
        if delay > 0:
            # Whole milliseconds, rounded up, so the timer never fires before the deadline.
            self._task = asyncio.create_task(asyncio.sleep(math.ceil(delay * 1000) / 1000))

    @property
    def must_wait(self) -> bool:
        """False when the deadline has already come: act at once."""
        return self._at is None or self._task is not None

    def fired(self) -> bool:
        return self._task is not None and self._task.done()

    def collect(self) -> None:
        """Forget a fired timer so the next aim starts a fresh one."""
        if self.fired():
            self._task, self._at = None, None

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task, self._at = None, None
