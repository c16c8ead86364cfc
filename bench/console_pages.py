"""Console page render latency: ticket list and ticket page, against the JSON API in the same run.

`python -m bench.console_pages`. Seeds the same 100k projection rows as bench.reads, logs a
department manager into the console through its form, then times `GET /console/tickets`
(50 rows, SLA badges) and `GET /console/tickets/{id}` (header, timeline) against the JSON
calls that carry the same data (`/api/v1/tickets?limit=50`; the ticket plus its events).
Also reports the gzipped size of the JavaScript the console ships.
"""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import Stack, latency_ms, load_average, run_alone
from bench.reads import ROWS, seed

STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def shipped_js_gzip_bytes() -> dict[str, int]:
    """Each vendored or own script, gzipped at level 9, and the total."""
    sizes = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in STATIC.glob("*.js")}
    return {**sizes, "total": sum(sizes.values())}


async def _timed(http: httpx.AsyncClient, paths: list[str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        for path in paths:
            (await http.get(path)).raise_for_status()
        times.append(time.perf_counter() - began)
    return times


async def _console_login(browser: httpx.AsyncClient, email: str, password: str) -> None:
    form = await browser.get("/console/login")
    found = CSRF.search(form.text)
    assert found is not None
    data = {"username": email, "password": password, "csrf_token": found.group(1)}
    done = await browser.post("/console/login", data=data)
    assert done.status_code == 303, done.text


async def bench(stack: Stack) -> dict[str, Any]:
    """p50/p99 of the two console pages and of their JSON equivalents."""
    rounds = 200 if stack.full else 40
    admin_password = stack.settings.admin_password.get_secret_value()
    async with stack.http(headers=stack.admin_headers) as admin:
        email, _ = await seed(stack, admin)
        sample = (await admin.get("/api/v1/tickets", params={"q": "reads sample"})).json()
        ticket_id = sample["items"][0]["id"]
        async with stack.http() as anon:
            form = {"username": email, "password": "password-123"}
            token = (await anon.post("/api/v1/auth/token", data=form)).json()["access_token"]
    manager_headers = {"Authorization": f"Bearer {token}"}
    async with stack.http(headers=manager_headers) as api, stack.http() as browser:
        await _console_login(browser, email, "password-123")
        console_list = await _timed(browser, ["/console/tickets?limit=50"], rounds)
        api_list = await _timed(api, ["/api/v1/tickets?limit=50"], rounds)
    async with stack.http(headers=stack.admin_headers) as api, stack.http() as browser:
        await _console_login(browser, stack.settings.admin_email, admin_password)
        page = await _timed(browser, [f"/console/tickets/{ticket_id}"], rounds)
        json_paths = [f"/api/v1/tickets/{ticket_id}", f"/api/v1/tickets/{ticket_id}/events"]
        api_page = await _timed(api, json_paths, rounds)
    figures: dict[str, Any] = {
        "ticket_list": latency_ms(console_list),
        "ticket_list_json_baseline": latency_ms(api_list),
        "ticket_page": latency_ms(page),
        "ticket_page_json_baseline": latency_ms(api_page),
    }
    figures["list_vs_json_p99"] = round(
        figures["ticket_list"]["p99_ms"] / figures["ticket_list_json_baseline"]["p99_ms"], 2
    )
    figures["page_vs_json_p99"] = round(
        figures["ticket_page"]["p99_ms"] / figures["ticket_page_json_baseline"]["p99_ms"], 2
    )
    return {
        "rows": ROWS,
        "rounds": rounds,
        "pages": figures,
        "javascript_gzip_bytes": shipped_js_gzip_bytes(),
        "load_average": load_average(),
        "note": "measured over loopback HTTP on a shared machine",
    }


if __name__ == "__main__":
    run_alone("console_pages", bench)
