"""A worker in its own process (settings from the environment), for crash tests to SIGKILL."""

from __future__ import annotations

import asyncio

from core.db import make_engine
from core.settings import Settings
from core.temporal import connect
from worker import build_worker


async def main() -> None:
    settings = Settings()
    client = await connect(settings)
    engine = make_engine(settings.database_url)
    async with build_worker(client, engine, settings):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
