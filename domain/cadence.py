"""Follow-up cadence (跟进节奏): due dates by tier/segment, contact caps, channel pauses, care."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.customers import CustomerSegment, CustomerTier


class PlanStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


LIVE_STATUSES = frozenset({PlanStatus.ACTIVE, PlanStatus.PAUSED})


class PlanPriority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class PlanChannel(StrEnum):
    """How the owner reaches the customer; the last three can carry automatic pushes."""

    CALL = "call"
    VISIT = "visit"
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"


PUSH_CHANNELS = frozenset({PlanChannel.SMS, PlanChannel.EMAIL, PlanChannel.WECHAT})

_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
MAX_CADENCE_MONTHS = 24


@dataclass(frozen=True)
class Cadence:
    """A calendar-aware interval: months move the calendar date, days and seconds are exact."""

    months: int = 0
    days: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Cadence:
        """Parse an ISO 8601 duration ("P1M", "P2W", "P45D", "P1MT12H"); ValueError if unusable."""
        match = _ISO.match(text.strip().upper())
        if match is None or text.strip().upper() in {"P", "PT"} or text.strip().endswith("T"):
            raise ValueError(f"{text!r} is not an ISO 8601 duration such as P1M, P2W or P45D")
        n = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        cadence = cls(
            months=n["y"] * 12 + n["mo"],
            days=n["w"] * 7 + n["d"],
            seconds=n["h"] * 3600 + n["mi"] * 60 + n["s"],
        )
        if cadence.approx_days() < 1:
            raise ValueError("a follow-up cadence must be at least one day")
        if cadence.approx_days() > MAX_CADENCE_MONTHS * 31:
            raise ValueError(f"a follow-up cadence must be at most {MAX_CADENCE_MONTHS} months")
        return cadence

    def iso(self) -> str:
        """The canonical ISO 8601 text (P1M, P45D, P1MT12H)."""
        text = "P" + (f"{self.months}M" if self.months else "")
        text += f"{self.days}D" if self.days else ""
        if self.seconds:
            h, rest = divmod(self.seconds, 3600)
            m, s = divmod(rest, 60)
            text += "T" + "".join(f"{v}{u}" for v, u in ((h, "H"), (m, "M"), (s, "S")) if v)
        return text if text != "P" else "P0D"

    def approx_days(self) -> float:
        return self.months * 30.44 + self.days + self.seconds / 86400

    def after(self, start: datetime) -> datetime:
        """`start` plus this cadence; months keep the wall-clock day, clamped to the month's end."""
        return add_months(start, self.months) + timedelta(days=self.days, seconds=self.seconds)


def add_months(start: datetime, months: int) -> datetime:
    """Calendar-month arithmetic in `start`'s own timezone: Jan 31 + 1 month = Feb 28/29."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)


# Segment rules outrank tier rules; a potential-segment customer follows its tier.
TIER_CADENCE: Mapping[CustomerTier, Cadence] = {
    CustomerTier.CORE: Cadence(months=1),
    CustomerTier.POTENTIAL: Cadence(months=3),
    CustomerTier.ORDINARY: Cadence(days=45),  # at most twice a quarter
}
SEGMENT_CADENCE: Mapping[CustomerSegment, Cadence] = {
    CustomerSegment.HIGH_VALUE: Cadence(days=15),  # twice a month
    CustomerSegment.DORMANT: Cadence(months=6),  # reactivation
}


def rule_cadence(tier: CustomerTier, segment: CustomerSegment | None) -> Cadence:
    """The cadence the rules give a customer: by segment when it has one, else by tier."""
    if segment is not None and segment in SEGMENT_CADENCE:
        return SEGMENT_CADENCE[segment]
    return TIER_CADENCE[tier]


def effective_cadence(
    override: str | None, tier: CustomerTier, segment: CustomerSegment | None
) -> Cadence:
    """A plan's own cadence when set, otherwise the rule's."""
    return Cadence.parse(override) if override else rule_cadence(tier, segment)


def next_due(last_touch: datetime | None, cadence: Cadence, now: datetime) -> datetime:
    """One cadence after the last touch; with no touch yet, one cadence after `now`."""
    return cadence.after(last_touch if last_touch is not None else now)


DEFAULT_GRACE = Cadence(days=3)


def escalation_at(due: datetime, grace: Cadence) -> datetime:
    """When an unanswered due goes to the owner's manager."""
    return grace.after(due)


# --- contact caps and channel pauses ---------------------------------------------------

DEFAULT_MONTHLY_CAPS: Mapping[CustomerTier, int] = {
    CustomerTier.CORE: 8,
    CustomerTier.POTENTIAL: 4,
    CustomerTier.ORDINARY: 2,
}
UNOPENED_PAUSE_AFTER = 3


@dataclass(frozen=True)
class PushRecord:
    """One automatic outbound message to a customer."""

    channel: str
    at: datetime
    opened_at: datetime | None = None


def month_bounds(at: datetime, tz: str) -> tuple[datetime, datetime]:
    """The local calendar month holding `at`: [first instant, first instant of next month)."""
    local = at.astimezone(ZoneInfo(tz))
    start = datetime(local.year, local.month, 1, tzinfo=ZoneInfo(tz))
    return start, add_months(start, 1)


def monthly_cap(tier: CustomerTier, caps: Mapping[CustomerTier, int] | None = None) -> int:
    return (caps or DEFAULT_MONTHLY_CAPS).get(tier, DEFAULT_MONTHLY_CAPS[tier])


def last_engagement(
    pushes: Iterable[PushRecord], last_interaction_at: datetime | None
) -> datetime | None:
    """The customer's latest sign of life: an opened push (link hit) or a logged interaction."""
    moments = [p.opened_at for p in pushes if p.opened_at is not None]
    if last_interaction_at is not None:
        moments.append(last_interaction_at)
    return max(moments, default=None)


def paused_channels(
    pushes: Iterable[PushRecord],
    last_interaction_at: datetime | None,
    threshold: int = UNOPENED_PAUSE_AFTER,
) -> frozenset[str]:
    """Channels with `threshold` or more pushes since the customer last engaged."""
    history = list(pushes)
    engaged = last_engagement(history, last_interaction_at)
    unanswered: dict[str, int] = {}
    for push in history:
        if engaged is None or push.at > engaged:
            unanswered[push.channel] = unanswered.get(push.channel, 0) + 1
    return frozenset(channel for channel, n in unanswered.items() if n >= threshold)


@dataclass(frozen=True)
class PushDecision:
    """Where an automatic push goes, or why it does not go at all."""

    channel: str | None
    reason: str | None = None
    paused: frozenset[str] = field(default_factory=frozenset)


def choose_push(
    channels: Sequence[str],
    tier: CustomerTier,
    pushes: Sequence[PushRecord],
    last_interaction_at: datetime | None,
    at: datetime,
    tz: str,
    caps: Mapping[CustomerTier, int] | None = None,
) -> PushDecision:
    """The first of the plan's push channels that is not paused, within the monthly cap."""
    paused = paused_channels(pushes, last_interaction_at)
    candidates = [c for c in channels if c in PUSH_CHANNELS]
    if not candidates:
        return PushDecision(None, "no_push_channel", paused)
    start, end = month_bounds(at, tz)
    if sum(1 for p in pushes if start <= p.at < end) >= monthly_cap(tier, caps):
        return PushDecision(None, "monthly_cap", paused)
    for channel in candidates:
        if channel not in paused:
            return PushDecision(channel, None, paused)
    return PushDecision(None, "channels_paused", paused)


# --- care triggers ---------------------------------------------------------------------


class CareKind(StrEnum):
    BIRTHDAY_GREETING = "birthday_greeting"
    DORMANT_REACTIVATION = "dormant_reactivation"
    PRODUCT_UPGRADE = "product_upgrade"


DEFAULT_BIRTHDAY_LEAD_DAYS = 3
DORMANT_AFTER = timedelta(days=180)
CARE_TIME = time(9, 0)  # tasks land at the start of the local working day


@dataclass(frozen=True)
class CareTask:
    """A task for the owner (and a push to the customer); `key` makes it fire once."""

    kind: CareKind
    key: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


def birthday_in(year: int, birthday: date) -> date:
    """The birthday's date in `year`; 29 February falls on the 28th in common years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def birthday_task(
    birthday: date | None,
    now: datetime,
    tz: str,
    lead_days: int = DEFAULT_BIRTHDAY_LEAD_DAYS,
    fired: Iterable[str] = (),
) -> CareTask | None:
    """The greeting task for the next birthday (today's included) not yet handled."""
    if birthday is None:
        return None
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    done = set(fired)
    for year in range(today.year, today.year + 3):
        occurrence = birthday_in(year, birthday)
        key = f"birthday:{occurrence.isoformat()}"
        if occurrence < today or key in done:
            continue
        at = datetime.combine(occurrence - timedelta(days=lead_days), CARE_TIME, zone)
        return CareTask(CareKind.BIRTHDAY_GREETING, key, at, {"birthday": occurrence.isoformat()})
    return None


def dormant_task(
    last_touch: datetime | None, since: datetime, idle: timedelta = DORMANT_AFTER
) -> CareTask:
    """Reactivation once the customer has gone `idle` without an interaction."""
    idle_from = last_touch if last_touch is not None else since
    return CareTask(
        CareKind.DORMANT_REACTIVATION,
        f"dormant:{idle_from.isoformat()}",
        idle_from + idle,
        {"idle_since": idle_from.isoformat(), "idle_days": idle.days},
    )


def upgrade_task(tags: Iterable[str], tag: str, product: str, at: datetime) -> CareTask | None:
    """A product-upgrade reminder for a customer carrying `tag`, else None."""
    if tag not in set(tags):
        return None
    return CareTask(
        CareKind.PRODUCT_UPGRADE, f"upgrade:{tag}:{product}", at, {"tag": tag, "product": product}
    )


# --- RFM segments ----------------------------------------------------------------------


@dataclass(frozen=True)
class RfmFacts:
    """Recency, frequency and monetary facts of one customer."""

    last_interaction_at: datetime | None
    created_at: datetime
    interactions_365d: int
    orders_365d: int  # linked tickets stand in while there is no orders table


@dataclass(frozen=True)
class RfmThresholds:
    dormant_after_days: int = 180
    recency_days: tuple[int, int] = (30, 90)  # R score 3 within 30 days, 2 within 90
    frequency: tuple[int, int] = (12, 4)  # F score 3 from 12 a year, 2 from 4
    monetary: tuple[int, int] = (5, 2)  # M score 3 from 5 a year, 2 from 2
    high_value_score: int = 7


def rfm_segment(
    facts: RfmFacts, now: datetime, thresholds: RfmThresholds | None = None
) -> CustomerSegment:
    """Dormant after long silence; high value when R+F+M scores reach the bar; else potential."""
    t = thresholds or RfmThresholds()
    recency = (now - (facts.last_interaction_at or facts.created_at)).days
    if recency >= t.dormant_after_days:
        return CustomerSegment.DORMANT
    r = 3 if recency <= t.recency_days[0] else 2 if recency <= t.recency_days[1] else 1
    f = _score(facts.interactions_365d, t.frequency)
    m = _score(facts.orders_365d, t.monetary)
    if r >= 2 and r + f + m >= t.high_value_score:
        return CustomerSegment.HIGH_VALUE
    return CustomerSegment.POTENTIAL


def _score(value: int, bars: tuple[int, int]) -> int:
    return 3 if value >= bars[0] else 2 if value >= bars[1] else 1
