"""Keyring envelopes, key rotation, blind indexes and the payload codec (no servers needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from core.codec import ENCODING, KEY_ID, EncryptionCodec, converter_for
from core.crypto import (
    DecryptionError,
    KeyConfigError,
    Keyring,
    new_blind_index_key,
    new_key_spec,
    parse_keys,
)
from core.settings import Settings

BLIND = new_blind_index_key()
OLD = new_key_spec("old")
NEW = new_key_spec("new")


def ring(*specs: str, blind: str = BLIND) -> Keyring:
    return Keyring.from_strings(",".join(specs), blind)


def test_encrypt_round_trips_and_hides_the_plaintext() -> None:
    keys = ring(OLD)
    blob = keys.encrypt(b"13812345678", b"contact.phone")
    assert b"13812345678" not in blob
    assert keys.decrypt(blob, b"contact.phone") == b"13812345678"
    assert Keyring.kid_of(blob) == "old" == keys.current_kid


def test_same_plaintext_encrypts_differently_each_time() -> None:
    keys = ring(OLD)
    assert keys.encrypt(b"same") != keys.encrypt(b"same")


def test_tampered_blob_or_wrong_aad_is_rejected() -> None:
    keys = ring(OLD)
    blob = bytearray(keys.encrypt(b"secret", b"a"))
    with pytest.raises(DecryptionError):
        keys.decrypt(bytes(blob), b"b")
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        keys.decrypt(bytes(blob), b"a")


def test_relabelled_key_id_does_not_decrypt() -> None:
    """The header is authenticated: a blob claiming another key id fails."""
    same_key = OLD.replace("old:", "odd:")
    keys = ring(OLD, same_key)
    blob = keys.encrypt(b"secret")
    with pytest.raises(DecryptionError):
        keys.decrypt(blob.replace(b"old", b"odd", 1))


def test_old_key_still_decrypts_after_a_new_key_is_put_first() -> None:
    before = ring(OLD).encrypt(b"written last year")
    rotated = ring(NEW, OLD)
    assert rotated.current_kid == "new"
    assert rotated.decrypt(before) == b"written last year"
    assert Keyring.kid_of(rotated.encrypt(b"today")) == "new"


def test_a_blob_of_a_dropped_key_names_the_missing_key() -> None:
    blob = ring(OLD).encrypt(b"x")
    with pytest.raises(DecryptionError, match="'old'"):
        ring(NEW).decrypt(blob)


def test_blind_index_is_keyed_stable_and_normalized() -> None:
    keys = ring(OLD)
    assert keys.blind_index("ZS@Example.com ") == keys.blind_index("zs@example.com")
    assert keys.blind_index("zs@example.com") != keys.blind_index("ls@example.com")
    assert ring(NEW).blind_index("zs@example.com") == keys.blind_index("zs@example.com")
    other_key = ring(OLD, blind=new_blind_index_key())
    assert other_key.blind_index("zs@example.com") != keys.blind_index("zs@example.com")
    assert len(keys.blind_index("x")) == 64


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "at least one key"),
        ("nokid", "kid:base64"),
        ("k1:not base64!", "not valid base64"),
        ("k1:c2hvcnQ=", "32 bytes"),
        (f"{OLD},{OLD}", "twice"),
    ],
)
def test_malformed_key_lists_are_refused_with_a_reason(spec: str, message: str) -> None:
    with pytest.raises(KeyConfigError, match=message):
        parse_keys(spec)


def test_production_requires_both_keys() -> None:
    secret = "s" * 40
    with pytest.raises(ValidationError, match="CLOSEDLOOP_ENCRYPTION_KEYS"):
        Settings(env="production", secret_key=secret, blind_index_key=BLIND)
    with pytest.raises(ValidationError, match="CLOSEDLOOP_BLIND_INDEX_KEY"):
        Settings(env="production", secret_key=secret, encryption_keys=OLD)
    ok = Settings(env="production", secret_key=secret, encryption_keys=OLD, blind_index_key=BLIND)
    assert ok.keyring().current_kid == "old"


def test_test_and_development_settings_get_usable_keys_when_unset() -> None:
    for env in ("test", "development"):
        assert Settings(env=env).keyring().encrypt(b"x")


async def test_codec_encrypts_every_payload_and_labels_the_key() -> None:
    codec = EncryptionCodec(ring(NEW, OLD))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"phone":"13812345678"}')
    [encoded] = await codec.encode([plain])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata[KEY_ID] == b"new"
    assert b"13812345678" not in encoded.SerializeToString()
    assert await codec.decode([encoded]) == [plain]


async def test_codec_decodes_old_key_payloads_and_passes_unencrypted_ones_through() -> None:
    [old] = await EncryptionCodec(ring(OLD)).encode([Payload(data=b"old")])
    unencrypted = Payload(metadata={"encoding": b"json/plain"}, data=b'"recorded"')
    decoded = await EncryptionCodec(ring(NEW, OLD)).decode([old, unencrypted])
    assert decoded == [Payload(data=b"old"), unencrypted]


async def test_converter_round_trips_values_through_the_codec() -> None:
    converter = converter_for(ring(OLD))
    payloads = await converter.encode(["zs@example.com", {"n": 1}])
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert await converter.decode(payloads, [str, dict]) == ["zs@example.com", {"n": 1}]
