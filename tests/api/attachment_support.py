"""Sample files and an app built on other settings (limits, storage) for attachment tests."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings


def png(extra: int = 0) -> bytes:
    """A valid 1x1 PNG, padded with `extra` bytes in an ancillary chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", ihdr)]
    if extra:
        parts.append(chunk(b"tEXt", b"c\x00" + b"x" * extra))
    parts += [chunk(b"IDAT", idat), chunk(b"IEND", b"")]
    return b"".join(parts)


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def files(name: str, data: bytes, content_type: str = "image/png") -> dict[str, Any]:
    return {"file": (name, io.BytesIO(data), content_type)}


@asynccontextmanager
async def client_for(
    settings: Settings, engine: AsyncEngine, temporal: Client, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an app built with overridden settings (same database and Temporal)."""
    app = create_app(settings.model_copy(update=overrides), engine=engine, temporal=temporal)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
