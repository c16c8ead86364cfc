"""Cost of the SSRF guard: POSTs to a local receiver through the guarded client vs plain httpx.

`python -m bench.outbound_guard [--posts N]` starts an HTTP receiver on a loopback port, then
sends N small JSON POSTs with a plain `httpx.AsyncClient` (the baseline) and N through the
worker's guarded client (`Outbound.post`: resolve, check, connect to the checked address,
capped read), each with a fresh client per POST as a delivery does (the guarded one with the
TLS context the worker builds once), plus N with one reused client per path. Prints JSON
(ratios guarded/plain) and writes bench/results/outbound_guard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activities.notify.errors import Outbound
from activities.notify.guard import guarded_client
from bench.common import latency_ms, load_average, write_result
from core.devstack import free_port
from domain.outbound import parse_allowlist

BODY = b'{"event": "status_changed", "data": {"from": "pending", "to": "processing"}}'


async def _answer(_: Request) -> Response:
    return JSONResponse({"ok": True})


async def _timed(n: int, send: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    durations = []
    began = time.perf_counter()
    for _ in range(n):
        start = time.perf_counter()
        await send()
        durations.append(time.perf_counter() - start)
    wall = time.perf_counter() - began
    return {"posts": n, "per_second": round(n / wall, 1), **latency_ms(durations)}


async def run(posts: int) -> dict[str, Any]:
    port = free_port()
    app = Starlette(routes=[Route("/{p:path}", _answer, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    url = f"http://localhost:{port}/hook"  # a name: the guarded path resolves it
    allow = parse_allowlist([f"127.0.0.1:{port}", f"[::1]:{port}"])
    headers = {"Content-Type": "application/json"}

    async def plain_fresh() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            (await client.post(url, content=BODY, headers=headers)).raise_for_status()

    tls = httpx.create_ssl_context()  # the worker builds it once

    async def guarded_fresh() -> None:
        async with guarded_client(allow, 10, tls) as client:
            await Outbound(client).post("webhook", url, content=BODY)

    try:
        await _timed(min(20, posts), plain_fresh)  # warm-up
        figures: dict[str, Any] = {"load_average_before": load_average()}
        figures["plain_fresh_client"] = await _timed(posts, plain_fresh)
        figures["guarded_fresh_client"] = await _timed(posts, guarded_fresh)
        async with httpx.AsyncClient(timeout=10) as plain, guarded_client(allow, 10) as guarded:
            out = Outbound(guarded)

            async def plain_reused() -> None:
                (await plain.post(url, content=BODY, headers=headers)).raise_for_status()

            async def guarded_reused() -> None:
                await out.post("webhook", url, content=BODY)

            figures["plain_reused_client"] = await _timed(posts, plain_reused)
            figures["guarded_reused_client"] = await _timed(posts, guarded_reused)
        figures["load_average_after"] = load_average()
    finally:
        server.should_exit = True
        await task
    for kind in ("fresh", "reused"):
        plain_rate = figures[f"plain_{kind}_client"]["per_second"]
        guarded_rate = figures[f"guarded_{kind}_client"]["per_second"]
        figures[f"guarded_vs_plain_rate_{kind}"] = round(guarded_rate / plain_rate, 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=500)
    args = parser.parse_args()
    print(write_result("outbound_guard", asyncio.run(run(args.posts))))  # noqa: T201


if __name__ == "__main__":
    main()
