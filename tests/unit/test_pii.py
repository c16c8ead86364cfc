"""Sealed contact fields: round trip, legacy clear values, key rotation, blind indexes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from core import pii
from core.crypto import DecryptionError, Keyring, new_blind_index_key, new_key_spec

BLIND = new_blind_index_key()
OLD = new_key_spec("old")
NEW = new_key_spec("new")


@pytest.fixture
def ring() -> Iterator[Keyring]:
    keyring = Keyring.from_strings(OLD, BLIND)
    previous = pii.use_keyring(keyring)
    yield keyring
    pii.use_keyring(previous)


def kid(sealed: str) -> str:
    return Keyring.kid_of(base64.b64decode(sealed.removeprefix(pii.PREFIX)))


def test_sealed_value_hides_the_clear_text_and_opens_again(ring: Keyring) -> None:
    sealed = pii.seal("13812345678")
    assert sealed.startswith("enc:v1:")
    assert "13812345678" not in sealed
    assert pii.seal("13812345678") != sealed  # a fresh nonce every time
    assert pii.unseal(sealed) == "13812345678"
    assert pii.unseal(pii.seal("张三")) == "张三"


def test_legacy_clear_values_pass_through_and_need_sealing(ring: Keyring) -> None:
    assert pii.unseal("zs@example.com") == "zs@example.com"
    assert pii.needs_reseal("zs@example.com")
    assert not pii.needs_reseal(pii.seal("zs@example.com"))


def test_contacts_seal_only_personal_fields(ring: Keyring) -> None:
    contact = {"name": "Zhang San", "phone": "13812345678", "email": "zs@x.com", "wechat": None}
    sealed = pii.seal_contact(contact)
    assert sealed is not None
    assert all(sealed[k].startswith(pii.PREFIX) for k in ("name", "phone", "email"))
    assert sealed["wechat"] is None
    assert pii.unseal_contact(sealed) == contact
    assert pii.seal_contact(None) is None


def test_a_new_current_key_marks_old_values_for_re_encryption(ring: Keyring) -> None:
    old = pii.seal("13812345678")
    pii.use_keyring(Keyring.from_strings(f"{NEW},{OLD}", BLIND))
    assert pii.needs_reseal(old)
    assert pii.unseal(old) == "13812345678"  # old keys still decrypt
    fresh = pii.seal(pii.unseal(old))
    assert (kid(old), kid(fresh)) == ("old", "new")
    pii.use_keyring(Keyring.from_strings(NEW, BLIND))  # the old key dropped
    with pytest.raises(DecryptionError):
        pii.unseal(old)
    assert pii.unseal(fresh) == "13812345678"


def test_blind_index_matches_every_spelling_of_one_phone_or_email(ring: Keyring) -> None:
    index = pii.phone_index("13812345678")
    assert index is not None
    assert "13812345678" not in index
    for spelling in ("138 1234 5678", "+86 138-1234-5678", "8613812345678"):
        assert pii.phone_index(spelling) == index
    assert pii.normalized_phone_index("+8613812345678") == index
    assert pii.phone_index("13812345679") != index
    assert pii.email_index(" ZS@Example.com ") == pii.email_index("zs@example.com")
    assert pii.phone_index("") is None
    assert pii.email_index(None) is None


def test_blind_index_depends_on_the_key(ring: Keyring) -> None:
    index = pii.email_index("zs@example.com")
    pii.use_keyring(Keyring.from_strings(OLD, new_blind_index_key()))
    assert pii.email_index("zs@example.com") != index
