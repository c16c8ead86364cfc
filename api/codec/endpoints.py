"""Codec server for the Temporal UI: encrypt and decrypt workflow payloads for authorized ops."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from api.codec.schemas import CodecPayloads, from_protos, to_protos
from api.deps import ManagerOrAdmin
from core.codec import EncryptionCodec
from core.crypto import DecryptionError
from core.errors import Invalid

router = APIRouter(prefix="/codec", tags=["operations"])
log = logging.getLogger("closedloop.codec")


def _codec(request: Request) -> EncryptionCodec:
    return request.app.state.payload_codec  # type: ignore[no-any-return]


@router.post("/encode", response_model=CodecPayloads)
async def encode(body: CodecPayloads, caller: ManagerOrAdmin, request: Request) -> CodecPayloads:
    """Encrypt payloads (the UI sends workflow/signal input this way); managers and admins."""
    return from_protos(await _codec(request).encode(to_protos(body)))


@router.post("/decode", response_model=CodecPayloads)
async def decode(body: CodecPayloads, caller: ManagerOrAdmin, request: Request) -> CodecPayloads:
    """Decrypt payloads for display in the Temporal UI; managers and admins only."""
    payloads = to_protos(body)
    try:
        decoded = await _codec(request).decode(payloads)
    except DecryptionError as exc:
        raise Invalid("body.payloads", f"cannot decrypt: {exc}") from exc
    # Personal data leaves in clear here: record who read how much, never the content.
    log.info("payloads decoded for %s: %d", caller.actor, len(payloads))
    return from_protos(decoded)
