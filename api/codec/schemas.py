"""The Temporal codec-server wire format: Payloads as protobuf JSON (bytes in base64)."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from core.errors import Invalid


class CodecPayload(BaseModel):
    """One `temporal.api.common.v1.Payload`."""

    metadata: dict[str, str] = Field(default_factory=dict, description="values in base64")
    data: str = Field("", description="base64")


class CodecPayloads(BaseModel):
    """`temporal.api.common.v1.Payloads`, as the Temporal UI posts and expects it."""

    payloads: list[CodecPayload] = Field(default_factory=list)


def _bytes(text: str, field: str) -> bytes:
    try:
        # protobuf JSON writes standard base64 and accepts the URL-safe alphabet too
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(field, "not valid base64") from exc


def to_protos(body: CodecPayloads) -> list[Payload]:
    """Wire → protobuf; 422 naming the field on bad base64."""
    return [
        Payload(
            metadata={
                key: _bytes(value, f"body.payloads.{i}.metadata.{key}")
                for key, value in item.metadata.items()
            },
            data=_bytes(item.data, f"body.payloads.{i}.data"),
        )
        for i, item in enumerate(body.payloads)
    ]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def from_protos(payloads: list[Payload]) -> CodecPayloads:
    """Protobuf → wire."""
    return CodecPayloads(
        payloads=[
            CodecPayload(
                metadata={key: _b64(value) for key, value in p.metadata.items()}, data=_b64(p.data)
            )
            for p in payloads
        ]
    )
