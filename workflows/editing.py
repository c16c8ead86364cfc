"""Pieces every stateful workflow shares: serialised edits and minimal search-attribute upserts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
