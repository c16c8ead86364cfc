"""Customer vocabulary and rules: codes, lifecycle, contact normalization, merge planning."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import phonenumbers


class CustomerType(StrEnum):
    B2B = "b2b"
    B2C = "b2c"


class CustomerTier(StrEnum):
    CORE = "core"
    POTENTIAL = "potential"
    ORDINARY = "ordinary"


class CustomerSegment(StrEnum):
    HIGH_VALUE = "high_value"
    POTENTIAL = "potential"
    DORMANT = "dormant"


class CustomerStage(StrEnum):
    LEAD = "lead"
    INTENTION = "intention"
    DEAL = "deal"
    LOST = "lost"


class Approval(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class InteractionKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    MEETING = "meeting"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


DEFAULT_PHONE_REGION = "CN"
MAX_TAGS = 20
MAX_TAG_LENGTH = 64


def format_customer_code(day: date, sequence: int) -> str:
    """CUS + yyyymmdd + daily sequence of at least three digits (CUS20240510001, …1000)."""
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"CUS{day:%Y%m%d}{sequence:03d}"


# Lifecycle 线索 → 意向 → 成交; any stage may be lost, and a lost customer may come back as a lead.
STAGE_TRANSITIONS: dict[CustomerStage, frozenset[CustomerStage]] = {
    CustomerStage.LEAD: frozenset({CustomerStage.INTENTION, CustomerStage.LOST}),
    CustomerStage.INTENTION: frozenset({CustomerStage.DEAL, CustomerStage.LOST}),
    CustomerStage.DEAL: frozenset({CustomerStage.LOST}),
    CustomerStage.LOST: frozenset({CustomerStage.LEAD}),
}


def stage_transition_error(current: CustomerStage, target: CustomerStage) -> str | None:
    """Why `current → target` is refused (a 409), or None; staying put is not a move."""
    if target == current or target in STAGE_TRANSITIONS[current]:
        return None
    allowed = ", ".join(sorted(s.value for s in STAGE_TRANSITIONS[current]))
    return f"cannot move stage from {current.value} to {target.value} (allowed: {allowed})"


def initial_approval(creator_role: str) -> Approval:
    """Customers entered by agents wait for a manager; managers' and admins' take effect."""
    return Approval.PENDING if creator_role == "agent" else Approval.APPROVED


# --- contacts ------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-().]")
_CN_MOBILE_SHAPE = re.compile(r"(?:\+?86|0086)?(1\d{10})")


def _cn_mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(DEFAULT_PHONE_REGION)
    assert metadata is not None
    assert metadata.mobile is not None
    return re.compile(str(metadata.mobile.national_number_pattern))


_CN_MOBILE = _cn_mobile_pattern()
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def normalize_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 form (+8613812345678); ValueError with a readable reason when invalid."""
    compact = _SEPARATORS.sub("", raw.strip())
    if not compact:
        raise ValueError("phone is empty")
    if region == DEFAULT_PHONE_REGION:
        # Fast path for mainland mobiles, same metadata as phonenumbers' own validity check.
        shape = _CN_MOBILE_SHAPE.fullmatch(compact)
        if shape and _CN_MOBILE.fullmatch(shape.group(1)):
            return "+86" + shape.group(1)
    try:
        parsed = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"not a valid phone number: {raw!r}")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(raw: str) -> str:
    """Trimmed and lower-cased; ValueError when it does not look like an address."""
    value = raw.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError(f"not an email address: {raw!r}")
    return value


def parse_tags(raw: str | Iterable[str]) -> list[str]:
    """Tags from a list or a `;`/`,`/`、`-separated cell: trimmed, de-duplicated, in order."""
    parts = re.split(r"[;,，；、|]", raw) if isinstance(raw, str) else list(raw)
    tags = [part.strip() for part in parts if part and part.strip()]
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tag longer than {MAX_TAG_LENGTH} characters: {tag[:20]}…")
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return unique


def union_tags(*lists: Sequence[str]) -> list[str]:
    """All tags of all lists, first occurrence order."""
    return list(dict.fromkeys(tag for tags in lists for tag in tags))


def primary_flags(flags: Sequence[bool]) -> list[bool]:
    """Exactly one primary: the marked one, else the first; ValueError if several are marked."""
    if sum(flags) > 1:
        raise ValueError("only one contact may be primary")
    if not flags or any(flags):
        return list(flags)
    return [True] + [False] * (len(flags) - 1)


@dataclass(frozen=True, slots=True)
class ContactKey:
    """A contact as seen by the merge: its id and normalized phone and email."""

    id: int
    phone: str | None
    email: str | None


def plan_contact_merge(
    target: Sequence[ContactKey], sources: Sequence[ContactKey]
) -> tuple[list[int], list[int]]:
    """(ids to move to the target, ids dropped as duplicates by normalized phone or email)."""
    phones = {c.phone for c in target if c.phone}
    emails = {c.email for c in target if c.email}
    move: list[int] = []
    drop: list[int] = []
    for contact in sources:
        if (contact.phone and contact.phone in phones) or (
            contact.email and contact.email in emails
        ):
            drop.append(contact.id)
            continue
        move.append(contact.id)
        if contact.phone:
            phones.add(contact.phone)
        if contact.email:
            emails.add(contact.email)
    return move, drop


def name_region_key(name: str, region: str | None) -> tuple[str, str] | None:
    """Company name + region duplicate key (case-insensitive); None without a region."""
    if not region or not region.strip():
        return None
    return (" ".join(name.split()).lower(), region.strip().lower())


# The profile fields of a customer, in template order (contacts are separate rows).
PROFILE_FIELDS: tuple[str, ...] = (
    "name",
    "type",
    "industry",
    "region",
    "address",
    "founded_on",
    "source",
    "requirement",
    "tier",
    "segment",
    "stage",
    "tags",
    "birthday",
)
