"""Key management: AES-256-GCM with rotating key ids, and a keyed blind index for lookups.

Envelope (bytes): version (1) | kid length (1) | kid (ASCII) | nonce (12) | ciphertext+tag.
The header is bound into the GCM associated data, so a blob cannot be relabelled with another
key id. Keys come from `CLOSEDLOOP_ENCRYPTION_KEYS` = "kid:base64(32 bytes),..."; the first
one encrypts, all of them decrypt (rotation: put the new key first, re-encrypt, drop the old).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class KeyConfigError(ValueError):
    """The configured keys are missing or malformed (the message names the setting)."""


class DecryptionError(ValueError):
    """A blob is not ours, was tampered with, or needs a key the keyring does not hold."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError(f"{what} is not valid base64") from exc


def parse_keys(spec: str) -> dict[str, bytes]:
    """`kid:base64,...` → {kid: key} in the given order (the first is current)."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        if not sep or not _KID.match(kid):
            raise KeyConfigError(
                "CLOSEDLOOP_ENCRYPTION_KEYS entries must look like 'kid:base64-of-32-bytes'"
            )
        key = _b64decode(encoded, f"CLOSEDLOOP_ENCRYPTION_KEYS key {kid!r}")
        if len(key) != KEY_BYTES:
            raise KeyConfigError(f"CLOSEDLOOP_ENCRYPTION_KEYS key {kid!r} must be 32 bytes")
        if kid in keys:
            raise KeyConfigError(f"CLOSEDLOOP_ENCRYPTION_KEYS lists key id {kid!r} twice")
        keys[kid] = key
    if not keys:
        raise KeyConfigError("CLOSEDLOOP_ENCRYPTION_KEYS must hold at least one key")
    return keys


def parse_blind_index_key(text: str) -> bytes:
    """The base64 HMAC key for blind indexes; at least 32 bytes."""
    key = _b64decode(text, "CLOSEDLOOP_BLIND_INDEX_KEY")
    if len(key) < KEY_BYTES:
        raise KeyConfigError("CLOSEDLOOP_BLIND_INDEX_KEY must be at least 32 bytes")
    return key


def new_key_spec(kid: str | None = None) -> str:
    """A fresh `kid:base64` entry for CLOSEDLOOP_ENCRYPTION_KEYS."""
    kid = kid or f"k{secrets.token_hex(4)}"
    return f"{kid}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def new_blind_index_key() -> str:
    """A fresh base64 value for CLOSEDLOOP_BLIND_INDEX_KEY."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def normalize(value: str) -> str:
    """The form a blind index hashes: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


class Keyring:
    """Encrypts with the current key, decrypts with any known key, computes blind indexes."""

    def __init__(self, keys: Mapping[str, bytes], blind_index_key: bytes) -> None:
        if not keys:
            raise KeyConfigError("a keyring needs at least one key")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self._blind_key = blind_index_key
        self.current_kid = next(iter(keys))
        self._header = self._header_for(self.current_kid)

    @classmethod
    def from_strings(cls, keys: str, blind_index_key: str) -> Keyring:
        """From the raw setting values."""
        return cls(parse_keys(keys), parse_blind_index_key(blind_index_key))

    @property
    def kids(self) -> list[str]:
        """Every key id, current first."""
        return list(self._ciphers)

    @staticmethod
    def _header_for(kid: str) -> bytes:
        raw = kid.encode("ascii")
        return bytes([VERSION, len(raw)]) + raw

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Seal `plaintext` with the current key; `aad` must be given again to decrypt."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current_kid].encrypt(nonce, plaintext, self._header + aad)
        return self._header + nonce + sealed

    def decrypt(self, blob: bytes, aad: bytes = b"") -> bytes:
        """Open a blob sealed by `encrypt` under any key of this keyring."""
        kid = self.kid_of(blob)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise DecryptionError(f"no key with id {kid!r} in the keyring")
        header = self._header_for(kid)
        nonce = blob[len(header) : len(header) + NONCE_BYTES]
        try:
            return cipher.decrypt(nonce, blob[len(header) + NONCE_BYTES :], header + aad)
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc

    @staticmethod
    def kid_of(blob: bytes) -> str:
        """The key id a blob was sealed with (re-encrypt when it is not `current_kid`)."""
        if len(blob) < 2 or blob[0] != VERSION:
            raise DecryptionError("not an encrypted blob of a known version")
        end = 2 + blob[1]
        if len(blob) < end + NONCE_BYTES + 16:
            raise DecryptionError("encrypted blob is truncated")
        try:
            return blob[2:end].decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecryptionError("malformed key id") from exc

    def blind_index(self, value: str) -> str:
        """HMAC-SHA256 (hex) of the normalized value, for exact-match search and dedup."""
        digest = hmac.new(self._blind_key, normalize(value).encode(), hashlib.sha256)
        return digest.hexdigest()
