"""Envelope encryption of files: a random data key per file, wrapped by the master keyring.

The file is sealed in 1 MiB chunks with AES-256-GCM under its data key. A chunk's nonce is
its index (the key is never reused across files) and its associated data binds the storage
key, the index and whether it is the last chunk, so chunks cannot be reordered, swapped
between files or cut off. Key rotation re-wraps the data keys; the files stay as they are.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.crypto import DecryptionError, Keyring

CHUNK = 1 << 20
TAG = 16
MAGIC = b"CLA1"
_WRAP_AAD = b"closedloop/attachment-key:"


class IntegrityError(ValueError):
    """A stored file does not decrypt or does not match its recorded sha256."""


def wrap_key(ring: Keyring, data_key: bytes, storage_key: str) -> bytes:
    """The data key sealed by the current master key."""
    return ring.encrypt(data_key, _WRAP_AAD + storage_key.encode())


def unwrap_key(ring: Keyring, wrapped: bytes, storage_key: str) -> bytes:
    """The data key of a file (any master key of the ring)."""
    return ring.decrypt(wrapped, _WRAP_AAD + storage_key.encode())


def _nonce(index: int) -> bytes:
    return struct.pack(">4xQ", index)


def _aad(storage_key: str, index: int, last: bool) -> bytes:
    return storage_key.encode() + struct.pack(">Q?", index, last)


@dataclass
class Sealed:
    size: int
    sha256: str
    wrapped_key: bytes


def seal_stream(ring: Keyring, storage_key: str, chunks: Iterable[bytes], out: IO[bytes]) -> Sealed:
    """Encrypt chunks of plaintext into `out`; the plaintext's size and sha256."""
    data_key = os.urandom(32)
    cipher = AESGCM(data_key)
    digest, size, index = hashlib.sha256(), 0, 0
    out.write(MAGIC)
    buffered = _rechunk(chunks)
    current = next(buffered, b"")
    while True:
        upcoming = next(buffered, None)
        last = upcoming is None
        digest.update(current)
        size += len(current)
        out.write(cipher.encrypt(_nonce(index), current, _aad(storage_key, index, last)))
        if upcoming is None:
            break
        current, index = upcoming, index + 1
    return Sealed(size, digest.hexdigest(), wrap_key(ring, data_key, storage_key))


def _rechunk(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Exactly CHUNK-sized pieces (the last may be shorter, never empty unless all is)."""
    buffer = bytearray()
    for piece in chunks:
        buffer += piece
        while len(buffer) >= CHUNK:
            yield bytes(buffer[:CHUNK])
            del buffer[:CHUNK]
    if buffer:
        yield bytes(buffer)


def open_stream(
    ring: Keyring, storage_key: str, wrapped_key: bytes, sealed: Iterable[bytes]
) -> Iterator[bytes]:
    """Plaintext chunks of a sealed file; IntegrityError on any tampering or truncation."""
    try:
        cipher = AESGCM(unwrap_key(ring, wrapped_key, storage_key))
    except DecryptionError as exc:
        raise IntegrityError(f"the file key does not open: {exc}") from exc
    pieces = _exact(sealed, CHUNK + TAG, len(MAGIC))
    if next(pieces, b"") != MAGIC:
        raise IntegrityError("not a sealed attachment")
    current = next(pieces, None)
    index = 0
    while current is not None:
        upcoming = next(pieces, None)
        try:
            yield cipher.decrypt(_nonce(index), current, _aad(storage_key, index, upcoming is None))
        except InvalidTag as exc:
            raise IntegrityError(f"chunk {index} does not authenticate") from exc
        current, index = upcoming, index + 1


def _exact(chunks: Iterable[bytes], size: int, first: int) -> Iterator[bytes]:
    """The magic (`first` bytes), then `size`-byte pieces (the last may be shorter)."""
    buffer = bytearray()
    want = first
    for piece in chunks:
        buffer += piece
        while len(buffer) >= want:
            yield bytes(buffer[:want])
            del buffer[:want]
            want = size
    if buffer:
        yield bytes(buffer)


def verified(chunks: Iterable[bytes], sha256: str, size: int) -> Iterator[bytes]:
    """Pass chunks through; IntegrityError at the end when size or sha256 differ."""
    digest, seen = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        seen += len(chunk)
        yield chunk
    if seen != size or digest.hexdigest() != sha256:
        raise IntegrityError("the file does not match its recorded sha256")
