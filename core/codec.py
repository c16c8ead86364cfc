"""Temporal payload codec: every payload is encrypted before it reaches the Temporal server."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from core.crypto import Keyring
from core.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
# Binds ciphertexts to this use: an at-rest blob cannot be passed off as a payload.
_AAD = b"closedloop/temporal-payload"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the serialized payload; payloads it did not encode pass through."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid = self.keyring.current_kid.encode()
        return [
            Payload(
                metadata={"encoding": ENCODING, KEY_ID: kid},
                data=self.keyring.encrypt(payload.SerializeToString(), _AAD),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on (recorded histories, old runs)
        return Payload.FromString(self.keyring.decrypt(payload.data, _AAD))


def converter_for(keyring: Keyring) -> DataConverter:
    """The pydantic converter with the encryption codec of `keyring`."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keyring))


def data_converter(settings: Settings) -> DataConverter:
    """The converter every client, worker and replayer of our workflows must use."""
    return converter_for(settings.keyring())
