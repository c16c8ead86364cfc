"""After the drill: count what was lost and what was doubled, from Postgres, Temporal and sinks."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from chaos.load import Ledger, title_for
from chaos.sinks import SmtpSink, WebhookSink

# Events that must appear once per SLA action key (c<cycle>:<target>:<kind> …).
KEYED_EVENTS = ("sla_warning", "sla_breached", "escalated", "reminder_sent")
# Due moments closer than this to the first response are not judged (the race is legitimate).
BOUNDARY = timedelta(seconds=1)


class Tally:
    """Per-check lost/duplicated counts plus notes on anything found."""

    def __init__(self) -> None:
        self.checks: dict[str, dict[str, int]] = {}
        self.notes: list[str] = []
        # Same key delivered again (crash between send and record); receivers dedupe by key.
        self.redelivered: dict[str, int] = {}

    def add(self, check: str, *, checked: int = 0, lost: int = 0, duplicated: int = 0) -> None:
        row = self.checks.setdefault(check, {"checked": 0, "lost": 0, "duplicated": 0})
        row["checked"] += checked
        row["lost"] += lost
        row["duplicated"] += duplicated

    def note(self, text: str) -> None:
        if len(self.notes) < 50:
            self.notes.append(text)

    @property
    def lost(self) -> int:
        return sum(r["lost"] for r in self.checks.values())

    @property
    def duplicated(self) -> int:
        return sum(r["duplicated"] for r in self.checks.values())


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def verify(
    ledger: Ledger,
    db_url: str,
    temporal: Client,
    base_url: str,
    smtp: SmtpSink,
    hooks: WebhookSink,
    sla_views: dict[int, dict[str, Any]],
) -> Tally:
    """Run every check; nothing here waits for more progress (the caller settled first)."""
    tally = Tally()
    async with await psycopg.AsyncConnection.connect(pg_dsn(db_url), autocommit=True) as db:
        tickets = await _creates(ledger, db, temporal, tally)
        await _timelines(db, tally)
        await _actions(ledger, db, tally)
        await _sla(sla_views, db, tally)
        await _notifications(db, smtp, hooks, tally)
        tally.add("tickets total", checked=len(tickets))
    await _workflows(temporal, tally)
    await _api(base_url, tally)
    return tally


async def _creates(
    ledger: Ledger, db: psycopg.AsyncConnection[Any], temporal: Client, tally: Tally
) -> dict[str, str]:
    rows = await (await db.execute("SELECT id, title, workflow_id FROM tickets")).fetchall()
    by_title: dict[str, list[tuple[int, str]]] = {}
    for ticket_id, title, workflow_id in rows:
        by_title.setdefault(title, []).append((ticket_id, workflow_id))
    for key, ticket_id in ledger.acked.items():
        found = by_title.get(title_for(key), [])
        ok = len(found) == 1 and found[0][0] == ticket_id and await _exists(temporal, found[0][1])
        tally.add("acked creates", checked=1, lost=0 if found else 1, duplicated=len(found[1:]))
        if not ok:
            tally.note(f"acked create {key} (ticket {ticket_id}): rows {found}")
    for key in ledger.unacked:
        found = by_title.get(title_for(key), [])
        orphan = len(found) == 1 and not await _exists(temporal, found[0][1])
        tally.add("unacked creates (≤1)", checked=1, lost=int(orphan), duplicated=len(found[1:]))
        if found[1:] or orphan:
            tally.note(f"unacked create {key}: rows {found}, workflow missing: {orphan}")
    workflow_ids = {workflow_id for _, _, workflow_id in rows}
    stray = [
        wf.id
        async for wf in temporal.list_workflows('WorkflowType="Ticket"')
        if wf.id not in workflow_ids
    ]
    tally.add("ticket workflows without row", checked=len(workflow_ids), lost=len(stray))
    if stray:
        tally.note(f"ticket workflows without a row: {stray[:5]}")
    return {str(ticket_id): workflow_id for ticket_id, _, workflow_id in rows}


async def _exists(temporal: Client, workflow_id: str) -> bool:
    try:
        await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return True


async def _timelines(db: psycopg.AsyncConnection[Any], tally: Tally) -> None:
    query = """
        SELECT t.id, t.last_seq, coalesce(array_agg(e.seq ORDER BY e.seq)
               FILTER (WHERE e.seq IS NOT NULL), '{}')
        FROM tickets t LEFT JOIN ticket_events e ON e.ticket_id = t.id GROUP BY t.id"""
    for ticket_id, last_seq, seqs in await (await db.execute(query)).fetchall():
        n = max([last_seq, *seqs])
        missing = len(set(range(1, n + 1)) - set(seqs))
        doubled = len(seqs) - len(set(seqs))
        tally.add("timeline gap-free (seq 1..n)", checked=1, lost=missing, duplicated=doubled)
        if missing or doubled:
            tally.note(f"ticket {ticket_id}: seqs {seqs}, last_seq {last_seq}")
    once = """
        SELECT ticket_id, type, key, count(*) FROM (
            SELECT ticket_id, type, data->>'key' AS key FROM ticket_events
             WHERE type = ANY(%(keyed)s)
            UNION ALL SELECT ticket_id, type, data->>'body' FROM ticket_events
             WHERE type = 'commented'
            UNION ALL SELECT ticket_id, type, (data->>'from') || '>' || (data->>'to')
              FROM ticket_events WHERE type = 'status_changed'
            UNION ALL SELECT ticket_id, type, '' FROM ticket_events
             WHERE type IN ('created', 'survey_recorded', 'closed')
        ) e GROUP BY ticket_id, type, key"""
    for ticket_id, kind, key, count in await (
        await db.execute(once, {"keyed": list(KEYED_EVENTS)})
    ).fetchall():
        tally.add("events once (type+key)", checked=1, duplicated=count - 1)
        if count > 1:
            tally.note(f"ticket {ticket_id}: {kind} {key} × {count}")


async def _actions(ledger: Ledger, db: psycopg.AsyncConnection[Any], tally: Tally) -> None:
    rows = await (await db.execute("SELECT ticket_id, type, data FROM ticket_events")).fetchall()
    events = Counter[tuple[int, str, str]]()
    for ticket_id, kind, data in rows:
        events[(ticket_id, kind, "")] += 1
        for name in ("body", "to"):
            if name in data:
                events[(ticket_id, kind, f"{name}={data[name]}")] += 1
    for want in ledger.expected:
        probe = f"{want.field}={want.value}" if want.field else ""
        found = events[(want.ticket_id, want.event, probe)]
        tally.add("acked updates", checked=1, lost=int(found == 0))
        if found == 0:
            tally.note(f"acked {want.event} {probe} on ticket {want.ticket_id} has no event")


async def _sla(
    views: dict[int, dict[str, Any]], db: psycopg.AsyncConnection[Any], tally: Tally
) -> None:
    """Each target whose due moment passed unmet breached exactly once; a met one never."""
    now = datetime.now(UTC)
    breaches = Counter[tuple[int, str]]()
    for ticket_id, target in await (
        await db.execute(
            "SELECT ticket_id, data->>'target' FROM ticket_events WHERE type = 'sla_breached'"
        )
    ).fetchall():
        breaches[(ticket_id, target)] += 1
    for ticket_id, sla in views.items():
        for target in ("first_response", "resolution"):
            clock = sla.get(target) or {}
            if not clock.get("due_at"):
                continue
            due = datetime.fromisoformat(clock["due_at"])
            met = datetime.fromisoformat(clock["met_at"]) if clock.get("met_at") else None
            if due > now - BOUNDARY or (met is not None and abs(met - due) < BOUNDARY):
                continue
            should = 1 if met is None or met > due else 0
            got = breaches[(ticket_id, target)]
            tally.add(
                f"sla breach once ({target})",
                checked=1,
                lost=max(should - got, 0),
                duplicated=max(got - should, 0),
            )
            if got != should:
                tally.note(f"ticket {ticket_id}: {target} due {due}, met {met}, breaches {got}")


async def _notifications(
    db: psycopg.AsyncConnection[Any], smtp: SmtpSink, hooks: WebhookSink, tally: Tally
) -> None:
    rows = await (
        await db.execute("SELECT idempotency_key, channel, status, error FROM notifications")
    ).fetchall()
    keys = Counter(key for key, *_ in rows)
    tally.add("notification rows once per key", checked=len(keys), duplicated=len(rows) - len(keys))
    mail = Counter[str]()
    for message_id, count in smtp.received.items():
        mail[message_id.strip("<>").split("@")[0]] += count
    for key, channel, status, error in rows:
        if channel == "email":
            got = mail.pop(hashlib.sha256(key.encode()).hexdigest()[:40], 0)
        elif channel == "webhook":
            got = hooks.received.pop(key, 0)
        else:
            tally.add(f"{channel} notifications (row)", checked=1, lost=int(status == "pending"))
            continue
        should = 1 if status in ("delivered", "pending") else 0
        tally.add(f"{channel} deliveries once per key", checked=1, lost=max(should - got, 0))
        if got > 1:
            tally.redelivered[key] = got - 1
        elif got != should:
            tally.note(f"{channel} {key}: row {status} ({error}), sink received {got}")
    stray = sum(mail.values()) + sum(hooks.received.values())
    tally.add("sink deliveries without a row", checked=stray, duplicated=stray)


async def _workflows(temporal: Client, tally: Tally) -> None:
    """Completed, or running and waiting (no failing workflow task); nothing failed/terminated."""
    async for wf in temporal.list_workflows():
        status = wf.status
        stuck = status not in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.RUNNING)
        why = f"status {status.name if status else '?'}"
        if status is WorkflowExecutionStatus.RUNNING:
            handle = temporal.get_workflow_handle(wf.id, run_id=wf.run_id)
            desc = await handle.describe()
            task = desc.raw_description.pending_workflow_task
            if task.attempt > 1:
                stuck, why = True, f"workflow task attempt {task.attempt}"
            failing = [a for a in desc.raw_description.pending_activities if a.attempt > 5]
            if failing:
                stuck, why = True, f"activity {failing[0].activity_type.name} retrying"
            last = None
            async for event in handle.fetch_history_events():
                last = event
            if last is not None and last.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                stuck, why = True, "last event is a failed workflow task"
            if wf.workflow_type != "Ticket" and not stuck:
                tally.note(f"{wf.id} ({wf.workflow_type}) still running, waiting on an activity")
        tally.add("workflows not stuck", checked=1, lost=int(stuck))
        if stuck:
            tally.note(f"workflow {wf.id} ({wf.workflow_type}): {why}")


async def _api(base_url: str, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        ready = (await http.get("/readyz")).status_code == 200
    tally.add("API answers /readyz", checked=1, lost=int(not ready))
