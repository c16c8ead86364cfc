"""What a ticket change produces: a timeline event plus the notices it triggers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.sla import ActionKind, ScheduledAction, SlaEvent, SlaEventKind
from domain.sla_view import sla_summary
from workflows import search_attributes as sa
from workflows.ticket_types import EventDraft, NotificationRequest, TicketState


@dataclass
class Effect:
    """One timeline event; `notify` lists (template, recipient rule) pairs."""

    type: str
    actor: str
    data: dict[str, Any]
    progress: bool = False
    notify: list[tuple[str, str]] = field(default_factory=list)
    channels: list[str] = field(default_factory=lambda: ["in_app"])
    notify_department_id: int | None = None

    def notifications(self, seq: int, state: TicketState) -> list[NotificationRequest]:
        """The notification requests of this effect once it has its event seq."""
        department_id = self.notify_department_id or state.department_id
        payload = {"ticket_number": state.number, "event": self.type, **self.data}
        return [
            NotificationRequest(
                event_seq=seq,
                notify=recipient,
                template=template,
                channels=list(self.channels),
                department_id=department_id,
                data=payload,
            )
            for template, recipient in self.notify
        ]


def effects_for_actions(state: TicketState, due: list[ScheduledAction]) -> list[Effect]:
    """Timeline events and notices for SLA actions that came due (revisit handled by caller)."""
    effects: list[Effect] = []
    for action in due:
        data: dict[str, Any] = {"key": action.key, "due_at": action.at.isoformat()}
        if action.target is not None:
            data["target"] = action.target
        if action.kind is ActionKind.WARNING:
            effects.append(
                Effect("sla_warning", "system", data, notify=[("sla_warning", "assignee")])
            )
        elif action.kind is ActionKind.BREACH:
            effects.append(
                Effect("sla_breached", "system", data, notify=[("sla_breached", "assignee")])
            )
        elif action.kind is ActionKind.ESCALATION and action.step is not None:
            step = state.policy.escalation[action.step]
            state.escalation_level += 1
            data.update(
                step=action.step, level=state.escalation_level, notify=step.notify, when=step.when
            )
            effects.append(
                Effect(
                    "escalated",
                    "system",
                    data,
                    notify=[("sla_escalated", step.notify)],
                    channels=list(step.channels),
                )
            )
        elif action.kind is ActionKind.TRACKING_REMINDER:
            cadence = state.policy.tracking[state.priority]
            data["cadence_seconds"] = int(cadence.total_seconds())
            effects.append(
                Effect("reminder_sent", "system", data, notify=[("tracking_reminder", "assignee")])
            )
    return effects


def drafts(
    s: TicketState, effects: list[Effect], now: datetime
) -> tuple[list[EventDraft], list[NotificationRequest]]:
    """Number the effects as consecutive timeline events and collect their notices."""
    events: list[EventDraft] = []
    notifications: list[NotificationRequest] = []
    for effect in effects:
        if effect.progress:
            s.sla_events.append(SlaEvent(kind=SlaEventKind.PROGRESS, at=now))
        s.seq += 1
        events.append(
            EventDraft(seq=s.seq, at=now, type=effect.type, actor=effect.actor, data=effect.data)
        )
        notifications.extend(effect.notifications(s.seq, s))
    s.updated_at = now
    return events, notifications


def search_values(s: TicketState, now: datetime) -> dict[str, object]:
    """The search attributes that make the ticket findable in the Temporal UI."""
    return {
        sa.TICKET_NUMBER.name: s.number,
        sa.TICKET_STATUS.name: s.status.value,
        sa.PRIORITY.name: s.priority.value,
        sa.DEPARTMENT.name: str(s.department_id) if s.department_id is not None else None,
        sa.ASSIGNEE.name: str(s.assignee_id) if s.assignee_id is not None else None,
        sa.SLA_BREACHED.name: sla_summary(s.policy, s.calendar, s.sla_events, now).breached,
        sa.ESCALATION_LEVEL.name: s.escalation_level,
    }
