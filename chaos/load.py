"""The load client: creates, updates, surveys and SLA tickets, retrying with the same key."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.stack import ADMIN_EMAIL, ADMIN_PASSWORD

API = "/api/v1"
SLA_CATEGORY = "chaos_sla"
PLAIN_CATEGORY = "product_quality"


@dataclass
class Expected:
    """An acknowledged action and the timeline event that must exist exactly once."""

    ticket_id: int
    event: str
    field: str
    value: str


@dataclass
class Ledger:
    """What the clients were told: acknowledged creates and actions, unacknowledged creates."""

    acked: dict[str, int] = field(default_factory=dict)
    unacked: list[str] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    sla_tickets: set[int] = field(default_factory=set)
    ops: Counter[str] = field(default_factory=Counter)
    gave_up: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    twin_mismatches: list[str] = field(default_factory=list)


def title_for(key: str) -> str:
    """Ticket title carrying the create's idempotency key, to find it afterwards."""
    return f"chaos {key}"


class Client:
    """HTTP client that retries on connection errors, 5xx and 429 with the same Idempotency-Key."""

    def __init__(
        self, base_urls: str | list[str], ledger: Ledger, op_timeout: float, *, twins: bool = False
    ) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else base_urls
        # twins: a keyed request goes to every API at once (a double submit through two
        # processes); their answers must name the same ticket.
        self.twins = twins and len(urls) > 1
        # Several APIs: each attempt goes to the next one, so a retry with the same key
        # usually reaches another process than the first try.
        self.https = [httpx.AsyncClient(base_url=url, timeout=20) for url in urls]
        self._turn = itertools.count()
        self.ledger, self.op_timeout = ledger, op_timeout
        self.headers: dict[str, str] = {}

    async def close(self) -> None:
        for http in self.https:
            await http.aclose()

    async def login(self) -> None:
        form = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        response = await self.call("POST", f"{API}/auth/token", data=form)
        if response is None or response.status_code != 200:
            raise RuntimeError(f"cannot log in: {response.text if response else 'no answer'}")
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def call(
        self, method: str, path: str, *, key: str | None = None, once: bool = False, **kw: Any
    ) -> httpx.Response | None:
        """The final answer (<500, not 429), or None when it never came within op_timeout."""
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        if key and self.twins:
            answers = await asyncio.gather(
                *(self._attempts(method, path, headers, once, kw) for _ in self.https)
            )
            ids = {a.json().get("id") for a in answers if a is not None and a.status_code < 300}
            self.ledger.ops["twin"] += 1
            if len(ids) > 1:
                self.ledger.twin_mismatches.append(f"{method} {path} {key}: ids {sorted(ids)}")
            done = [a for a in answers if a is not None]
            return next((a for a in done if a.status_code < 300), done[0] if done else None)
        return await self._attempts(method, path, headers, once, kw)

    async def _attempts(
        self, method: str, path: str, headers: dict[str, str], once: bool, kw: dict[str, Any]
    ) -> httpx.Response | None:
        deadline = time.monotonic() + self.op_timeout
        while True:
            try:
                http = self.https[next(self._turn) % len(self.https)]
                response = await http.request(method, path, headers=headers, **kw)
                if response.status_code < 500 and response.status_code != 429:
                    return response
            except httpx.TransportError:
                pass
            if once or time.monotonic() > deadline:
                return None
            self.ledger.retries += 1
            await asyncio.sleep(0.5)

    async def setup(self, sla: dict[str, str]) -> tuple[int, int]:
        """Department, agent, SLA policy for SLA_CATEGORY; (department id, agent id)."""
        tag = uuid.uuid4().hex[:6]
        dept = await self._must("POST", "/departments", {"code": f"CH{tag}", "name": "Chaos"})
        agent = await self._must(
            "POST",
            "/users",
            {
                "email": f"agent-{tag}@example.com",
                "name": "Chaos Agent",
                "password": "chaos-agent-password-1",
                "role": "agent",
                "department_id": dept["id"],
            },
        )
        targets = {p: dict(sla) for p in ("urgent", "normal", "low")}
        await self._must(
            "POST",
            "/sla-policies",
            {
                "name": f"chaos {tag}",
                "targets": targets,
                "warn_at": 0.8,
                "escalation": [{"at": "breach", "notify": "assignee", "channels": ["email"]}],
                "tracking": {"urgent": "PT24H", "normal": "P3D", "low": "P7D"},
                "revisit": {"confirm_within": "P3D"},
                "scope": {"categories": [SLA_CATEGORY]},
            },
        )
        return int(dept["id"]), int(agent["id"])

    async def webhook(self, url: str) -> None:
        await self._must("POST", "/webhooks", {"url": url, "events": ["*"]})

    async def _must(self, method: str, path: str, body: dict[str, Any]) -> Any:
        response = await self.call(method, f"{API}{path}", json=body)
        if response is None or response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.text if response else 'no answer'}")
        return response.json()


class Load:
    """Concurrent scenario loops until a deadline, recording every acknowledgement."""

    def __init__(
        self, client: Client, department_id: int, agent_id: int, rng: random.Random
    ) -> None:
        self.client, self.rng = client, rng
        self.department_id, self.agent_id = department_id, agent_id
        self.ledger = client.ledger

    async def run(self, seconds: float, concurrency: int) -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(self._loop(deadline) for _ in range(concurrency)))

    async def _loop(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            roll = self.rng.random()
            if roll < 0.3:
                await self._sla_ticket()
            else:
                await self._lifecycle(once=roll > 0.85)

    async def _create(self, category: str, *, once: bool) -> int | None:
        key = uuid.uuid4().hex
        body = {
            "title": title_for(key),
            "description": "Created by the fault drill.",
            "category": category,
            "priority": self.rng.choice(["urgent", "normal", "low"]),
            "channel": "staff",
            "department_id": self.department_id,
            "contact": {"name": "Drill Customer", "email": f"c-{key[:8]}@example.com"},
        }
        response = await self.client.call("POST", f"{API}/tickets", key=key, json=body, once=once)
        if response is None:
            self.ledger.unacked.append(key)
            self.ledger.gave_up["create"] += 1
            return None
        if response.status_code != 201:
            self.ledger.errors.append(f"create {response.status_code}: {response.text[:200]}")
            return None
        ticket_id = int(response.json()["id"])
        self.ledger.acked[key] = ticket_id
        self.ledger.ops["create"] += 1
        return ticket_id

    async def _act(self, ticket_id: int, action: str, body: dict[str, Any], want: Expected) -> bool:
        key = uuid.uuid4().hex
        path = f"{API}/tickets/{ticket_id}/{action}"
        response = await self.client.call("POST", path, key=key, json=body)
        if response is None:
            self.ledger.gave_up[action] += 1
            return False
        if response.status_code != 200:
            self.ledger.errors.append(f"{action} {response.status_code}: {response.text[:200]}")
            return False
        self.ledger.ops[action] += 1
        self.ledger.expected.append(want)
        return True

    async def _lifecycle(self, *, once: bool) -> None:
        ticket_id = await self._create(PLAIN_CATEGORY, once=once)
        if ticket_id is None:
            return
        text = f"reply {uuid.uuid4().hex}"
        ticket = ticket_id
        steps: list[tuple[str, dict[str, Any], Expected]] = [
            ("assign", {"assignee_id": self.agent_id}, Expected(ticket, "assigned", "", "")),
            (
                "comments",
                {"body": text, "public": True},
                Expected(ticket, "commented", "body", text),
            ),
            (
                "status",
                {"status": "processing", "note": "on it"},
                Expected(ticket, "status_changed", "to", "processing"),
            ),
            (
                "status",
                {"status": "resolved", "note": "fixed"},
                Expected(ticket, "status_changed", "to", "resolved"),
            ),
            ("survey", {"rating": "satisfied"}, Expected(ticket, "survey_recorded", "", "")),
        ]
        for action, body, want in steps[: self.rng.randint(1, len(steps))]:
            if not await self._act(ticket_id, action, body, want):
                return

    async def _sla_ticket(self) -> None:
        """A ticket in the second-long policy: left alone, or answered after a random delay."""
        ticket_id = await self._create(SLA_CATEGORY, once=False)
        if ticket_id is None:
            return
        self.ledger.sla_tickets.add(ticket_id)
        await self._act(
            ticket_id,
            "assign",
            {"assignee_id": self.agent_id},
            Expected(ticket_id, "assigned", "", ""),
        )
        if self.rng.random() < 0.5:
            await asyncio.sleep(self.rng.uniform(0, 5))
            text = f"reply {uuid.uuid4().hex}"
            await self._act(
                ticket_id,
                "comments",
                {"body": text, "public": True},
                Expected(ticket_id, "commented", "body", text),
            )
