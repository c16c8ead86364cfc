"""One fault drill: start the stack, drive load, SIGKILL on a seeded schedule, settle, verify."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from temporalio.client import Client as TemporalClient

from chaos.load import API, Client, Ledger, Load
from chaos.sinks import SmtpSink, WebhookSink
from chaos.stack import Stack
from chaos.verify import Tally, pg_dsn, verify

COMPONENTS = ("worker", "api", "temporal", "postgres")
RESTART_ORDER = {"postgres": 0, "temporal": 1, "worker": 2, "api": 3}


@dataclass
class DrillConfig:
    """How long, how hard and which faults; the seed makes the schedule reproducible."""

    seconds: float = 240
    seed: int = 7
    concurrency: int = 4
    singles: tuple[str, ...] = COMPONENTS
    pairs: int = 3
    pause: tuple[float, float] = (1.0, 4.0)
    sla: dict[str, str] = field(
        default_factory=lambda: {"first_response": "PT3S", "resolution": "PT20S"}
    )
    settle_timeout: float = 120
    op_timeout: float = 90
    keep_dir: bool = False
    # Processes behind the one Temporal server and database; faults kill the first of each.
    workers: int = 1
    apis: int = 1
    twins: bool = False  # with several APIs: send each keyed request to all of them at once


@dataclass
class Fault:
    at: float
    targets: tuple[str, ...]
    down_seconds: float = 0.0


def schedule(config: DrillConfig, rng: random.Random) -> list[Fault]:
    """Singles in random order, then pairs killed together, at random moments in even slots."""
    singles = list(config.singles)
    rng.shuffle(singles)
    combos = list(itertools.combinations(COMPONENTS, 2))
    plan = [(s,) for s in singles] + rng.sample(combos, min(config.pairs, len(combos)))
    slot = config.seconds / (len(plan) + 0.5)
    return [
        Fault(at=slot * (i + rng.uniform(0.2, 0.8)), targets=targets)
        for i, targets in enumerate(plan)
    ]


async def _inject(
    stack: Stack, faults: list[Fault], rng: random.Random, t0: float, pause: tuple[float, float]
) -> list[str]:
    """Kill on schedule, restart after a pause; restart anything that died on its own meanwhile."""
    extra: list[str] = []
    for fault in faults:
        while time.monotonic() - t0 < fault.at:
            extra += await asyncio.to_thread(stack.supervise)
            await asyncio.sleep(0.5)
        for name in fault.targets:
            await asyncio.to_thread(stack.kill, name)
        down = time.monotonic()
        await asyncio.sleep(rng.uniform(*pause))
        for name in sorted(fault.targets, key=RESTART_ORDER.__getitem__):
            await asyncio.to_thread(stack.restart, name)
        fault.down_seconds = round(time.monotonic() - down, 1)
        killed = "+".join(fault.targets)
        print(f"  t={fault.at:6.1f}s  SIGKILL {killed:<18} down {fault.down_seconds}s")  # noqa: T201
    return extra


# A timer of a workflow cached on a killed worker waits out the sticky queue's
# schedule-to-start timeout (10 s in the SDK) before another worker takes it: wait past that.
SETTLE_AFTER_DUE_SECONDS = 15


async def _settle(
    client: Client, ledger: Ledger, stack: Stack, temporal: TemporalClient, limit: float
) -> dict[int, Any]:
    """Bounded wait: SLA due moments passed, no notification pending, deliveries finished."""
    deadline = time.monotonic() + limit
    views: dict[int, Any] = {}
    while True:
        views = {}
        latest = datetime.min.replace(tzinfo=UTC)
        for ticket_id in sorted(ledger.sla_tickets):
            response = await client.call("GET", f"{API}/tickets/{ticket_id}")
            if response is not None and response.status_code == 200:
                sla = response.json()["sla"]
                views[ticket_id] = sla
                for target in ("first_response", "resolution"):
                    clock = sla.get(target) or {}
                    if clock.get("due_at") and not clock.get("met_at"):
                        latest = max(latest, datetime.fromisoformat(clock["due_at"]))
        async with await psycopg.AsyncConnection.connect(pg_dsn(stack.postgres.url)) as db:
            row = await (
                await db.execute("SELECT count(*) FROM notifications WHERE status = 'pending'")
            ).fetchone()
        pending = row[0] if row else 0
        running = await temporal.count_workflows(
            'ExecutionStatus="Running" AND WorkflowType!="Ticket"'
        )
        pending += running.count
        now = datetime.now(UTC)
        if (now - latest).total_seconds() > SETTLE_AFTER_DUE_SECONDS and pending == 0:
            return views
        if time.monotonic() > deadline:
            late = f"{pending} notifications/deliveries pending, last due {latest.isoformat()}"
            print(f"  settle timeout: {late}")  # noqa: T201
            return views
        await asyncio.sleep(1)


async def run_drill(config: DrillConfig, out: Path | None) -> dict[str, Any]:
    """The whole drill; returns (and writes to `out`) the summary."""
    rng = random.Random(config.seed)
    smtp, hooks = SmtpSink(), WebhookSink()
    smtp.start()
    hooks.start()
    root = Path(tempfile.mkdtemp(prefix="closedloop-chaos-"))
    stack = Stack(
        root, smtp.port, webhook_port=hooks.port, workers=config.workers, apis=config.apis
    )
    ledger = Ledger()
    client = Client(stack.base_urls, ledger, config.op_timeout, twins=config.twins)
    started = time.monotonic()
    try:
        await asyncio.to_thread(stack.start)
        await client.login()
        department_id, agent_id = await client.setup(config.sla)
        await client.webhook(hooks.url)
        faults = schedule(config, rng)
        print(f"drill: {config.seconds:.0f}s load, {len(faults)} faults, seed {config.seed}")  # noqa: T201
        load = Load(client, department_id, agent_id, random.Random(config.seed + 1))
        t0 = time.monotonic()
        injector = asyncio.create_task(_inject(stack, faults, rng, t0, config.pause))
        await load.run(config.seconds, config.concurrency)
        extra = await injector
        extra += await asyncio.to_thread(stack.supervise)
        await asyncio.to_thread(stack.wait_ready)
        temporal = await TemporalClient.connect(stack.temporal.address)
        views = await _settle(client, ledger, stack, temporal, config.settle_timeout)
        tally = await verify(
            ledger, stack.postgres.url, temporal, stack.base_url, smtp, hooks, views
        )
        summary = _summary(config, faults, extra, ledger, tally, time.monotonic() - started)
    finally:
        await client.close()
        await asyncio.to_thread(stack.stop)
        smtp.stop()
        hooks.stop()
        if not config.keep_dir:
            shutil.rmtree(root, ignore_errors=True)
    if out is not None:
        await asyncio.to_thread(_write, out, summary)
    return summary


def _write(out: Path, summary: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")


def _summary(
    config: DrillConfig,
    faults: list[Fault],
    extra: list[str],
    ledger: Ledger,
    tally: Tally,
    elapsed: float,
) -> dict[str, Any]:
    return {
        "seed": config.seed,
        "workers": config.workers,
        "apis": config.apis,
        "load_seconds": config.seconds,
        "elapsed_seconds": round(elapsed, 1),
        "faults": [
            {"at_s": round(f.at, 1), "killed": list(f.targets), "down_s": f.down_seconds}
            for f in faults
        ],
        "supervisor_restarts": extra,
        "operations": dict(ledger.ops),
        "operations_total": sum(ledger.ops.values()),
        "creates_acknowledged": len(ledger.acked),
        "creates_unacknowledged": len(ledger.unacked),
        "client_retries": ledger.retries,
        "gave_up": dict(ledger.gave_up),
        "client_error_count": len(ledger.errors),
        "client_errors": ledger.errors[:20],
        "twin_mismatches": ledger.twin_mismatches[:20],
        "sla_tickets": len(ledger.sla_tickets),
        "checks": tally.checks,
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "redelivered_same_key": tally.redelivered,
        "notes": tally.notes,
    }


def render(summary: dict[str, Any]) -> str:
    """The summary table printed after a drill."""
    lines = [
        "",
        f"fault drill  seed {summary['seed']}  load {summary['load_seconds']:.0f}s  "
        f"total {summary['elapsed_seconds']}s",
        f"  faults injected   {len(summary['faults'])}: "
        + ", ".join("+".join(f["killed"]) for f in summary["faults"]),
        f"  operations        {summary['operations_total']} "
        + json.dumps(summary["operations"], sort_keys=True),
        f"  creates           {summary['creates_acknowledged']} acknowledged, "
        f"{summary['creates_unacknowledged']} unacknowledged; {summary['client_retries']} retries",
        f"  client errors     {summary['client_error_count']} (4xx answers, not retried)",
        f"  self-restarts     {len(summary['supervisor_restarts'])} (died on their own)",
        "",
        f"  {'check':<40} {'checked':>8} {'lost':>6} {'duplicated':>11}",
    ]
    for name, row in summary["checks"].items():
        lines.append(f"  {name:<40} {row['checked']:>8} {row['lost']:>6} {row['duplicated']:>11}")
    lines += [
        f"  {'TOTAL':<40} {'':>8} {summary['lost']:>6} {summary['duplicated']:>11}",
        f"  redelivered under the same key (receiver dedupes): "
        f"{sum(summary['redelivered_same_key'].values())} {list(summary['redelivered_same_key'])}",
        *(f"  ! {note}" for note in summary["notes"]),
    ]
    return "\n".join(lines)
