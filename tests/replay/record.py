"""Record ticket workflow histories for the replay test: `python -m tests.replay.record`.

Runs the main ticket paths on a time-skipping Temporal server with a throwaway embedded
Postgres and writes each history to tests/replay/histories/<name>.json. Record from the
committed code (e.g. a `git archive HEAD` export): the files stand for executions already
running, which changed code must still replay. Re-running overwrites the files: after a
workflow change, keep the previous ones under new names.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import WorkflowHistory

from core import devstack
from core.db import make_engine
from core.migrate import upgrade
from core.settings import Settings
from domain.sla import Priority
from domain.tickets import SurveyRating, TicketStatus
from tests.workflow.conftest import Desk, Tracked, start_time_skipping_env
from worker import build_worker
from workflows.ticket_types import AssignInput

HISTORIES = Path(__file__).resolve().parent / "histories"
T = TypeVar("T")
TASK_QUEUE = "closedloop-record"


@asynccontextmanager
async def time_skipping_stack(task_queue: str = TASK_QUEUE, **settings: Any) -> AsyncIterator[Desk]:
    """Embedded Postgres (migrated) + time-skipping server + our worker, torn down after.

    `settings` overrides the worker's settings (e.g. an SMTP server to deliver to).
    """
    with tempfile.TemporaryDirectory(prefix="closedloop-ts-") as tmp:
        postgres = devstack.PostgresProcess(Path(tmp) / "pg", devstack.free_port())
        await asyncio.to_thread(postgres.start)
        try:
            url = await asyncio.to_thread(postgres.create_database, "closedloop_record")
            await asyncio.to_thread(upgrade, url)
            config = Settings(
                env="test",
                database_url=url,
                temporal_task_queue=task_queue,
                secret_key="recording-secret-key-with-32-characters!",
                **settings,
            )
            engine = make_engine(url)
            # A neutral identity: the default (pid@host) would end up in committed histories.
            env = await start_time_skipping_env(identity="closedloop-recorder")
            try:
                async with build_worker(env.client, engine, config):
                    yield Desk(env, engine, config)
            finally:
                await env.shutdown()
                await engine.dispose()
        finally:
            await asyncio.to_thread(postgres.stop)


async def close_satisfied(t: Tracked) -> None:
    await t.status(TicketStatus.RESOLVED, "parcel re-sent")
    await t.survey(SurveyRating.SATISFIED, "thanks")


async def standard_lifecycle(desk: Desk) -> Tracked:
    """create → assign → comment → processing → resolved → satisfied → closed."""
    staff = await desk.staff()
    t = await desk.open(Priority.NORMAL, department_id=staff.department_id)
    await t.update("assign", AssignInput(actor="user:1", assignee_id=staff.agent_id))
    await t.comment("We are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await close_satisfied(t)
    return t


async def urgent_escalations(desk: Desk) -> Tracked:
    """Urgent and untouched: warning, breach, two escalation steps; then handled and closed."""
    staff = await desk.staff()
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.advance_to(t.after(hours=6, minutes=30))
    await t.comment("Sorry for the wait, we are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await close_satisfied(t)
    return t


async def unsatisfied_reopen(desk: Desk) -> Tracked:
    """resolved → unsatisfied → reopened and re-dispatched → resolved → satisfied."""
    staff = await desk.staff()
    t = await desk.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.resolve()
    await t.survey(SurveyRating.UNSATISFIED, "it arrived broken")
    await t.update("assign", AssignInput(actor="user:1", assignee_id=staff.agent_id))
    await close_satisfied(t)
    return t


async def revisit_timeout(desk: Desk) -> Tracked:
    """resolved, then no answer for three days: closed by the workflow."""
    staff = await desk.staff()
    t = await desk.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.comment("We are on it.")
    await t.resolve()
    await t.advance_to(t.after(days=3, hours=1))
    return t


async def priority_change(desk: Desk) -> Tracked:
    """normal → urgent after an hour: the urgent first-response breach fires at +2 h."""
    staff = await desk.staff()
    t = await desk.open(
        Priority.NORMAL, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.advance_to(t.after(hours=1))
    await t.priority(Priority.URGENT)
    await t.advance_to(t.after(hours=2, minutes=30))
    await t.comment("We are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await close_satisfied(t)
    return t


async def awaiting_customer(desk: Desk) -> Tracked:
    """processing → awaiting_customer for 5 h → the customer answers → resolved → closed."""
    staff = await desk.staff()
    t = await desk.open(
        Priority.URGENT, department_id=staff.department_id, assignee_id=staff.agent_id
    )
    await t.comment("We are on it.")
    await t.status(TicketStatus.PROCESSING, "courier contacted")
    await t.status(TicketStatus.AWAITING_CUSTOMER, "asked for a photo of the label")
    await t.advance_to(t.after(hours=5))
    await t.comment("here is the photo", by_customer=True)
    await close_satisfied(t)
    return t


SCENARIOS: dict[str, Callable[[Desk], Awaitable[Tracked]]] = {
    "standard_lifecycle": standard_lifecycle,
    "urgent_escalations": urgent_escalations,
    "unsatisfied_reopen": unsatisfied_reopen,
    "revisit_timeout": revisit_timeout,
    "priority_change": priority_change,
    "awaiting_customer": awaiting_customer,
}


async def finished_history(t: Tracked) -> WorkflowHistory:
    """The whole history once the workflow has completed."""
    await asyncio.wait_for(t.handle.result(), timeout=30)
    return await t.handle.fetch_history()


def compact(history_json: str) -> str:
    """One event per line: small files whose diffs stay readable."""
    events = json.loads(history_json)["events"]
    lines = ",\n".join(json.dumps(event, separators=(",", ":")) for event in events)
    return '{"events": [\n' + lines + "\n]}\n"


async def record_scenarios(
    directory: Path,
    scenarios: Mapping[str, Callable[[Desk], Awaitable[T]]],
    finish: Callable[[T], Awaitable[WorkflowHistory]],
    **settings: Any,
) -> list[Path]:
    """Run each scenario on one stack and write its finished history as `<name>.json`."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    written = []
    async with time_skipping_stack(**settings) as desk:
        for name, scenario in scenarios.items():
            history = await finish(await scenario(desk))
            path = directory / f"{name}.json"
            path.write_text(compact(history.to_json()))
            written.append(path)
    return written


def report(record: Callable[[], Coroutine[Any, Any, list[Path]]]) -> None:
    """The recorders' command line: record, then name the files written."""
    for path in asyncio.run(record()):
        print(f"wrote {path.relative_to(Path.cwd())}")  # noqa: T201


async def record() -> list[Path]:
    return await record_scenarios(HISTORIES, SCENARIOS, finished_history)


if __name__ == "__main__":
    report(record)
