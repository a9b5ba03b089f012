"""Pure SLA enforcement: the timers an order's *stored* deadlines need, and what to announce.

The monitor computes no deadline: `WorkOrder.sla` (written by shared.sla whenever the order
changes) is the truth. Each running step of an order has ONE timer document holding its
deadline and the next moment due on its ladder (warning, breach, escalations, urges). Every
announcement is keyed by (order, step, kind, deadline): the event id carries the deadline, so a
redelivery or a second replica repeats the same id. When a deadline moves (suspension,
extension, upgrade) the clock's `done` kinds are carried: a kind already announced whose new
moment is also past is not announced again; only what the new deadline newly causes is.
Nothing here reads the clock or the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from suqiu.shared.contracts import (
    SlaBreached,
    SlaEscalated,
    SlaWarning,
    StepDeadline,
    TicketStatus,
    TicketUrged,
    WorkOrder,
)
from suqiu.shared.keys import TIME_KEY, at_key
from suqiu.shared.sla import SlaPolicies

__all__ = ["TIME_KEY", "Moment", "StepTimer", "announce_kind", "due_now", "event_for", "moments", "plan",
           "time_keys"]

# the prefix of `fire_key` / `due_key` (shared.keys.TIME_KEY)

UPGRADE = "upgrade"  # pseudo-step: the automatic severity upgrade of a long-open order
_CENTRE_STEPS = frozenset({"triage", "callback", "feedback", "revisit"})
_OPEN_FOR_UPGRADE = frozenset({TicketStatus.DISPATCHED, TicketStatus.SIGNED,
                               TicketStatus.IN_PROGRESS, TicketStatus.SUSPENDED,
                               TicketStatus.EXTENSION_REQUESTED, TicketStatus.TRIAGE})


def time_keys(fire_at: datetime | None, due_at: datetime | None) -> dict[str, str | None]:
    """String keys of the timer's moments (shared/keys.py): nx-27017 walks a range on an
    indexed string quickly, a range on an indexed datetime slowly (docs/benchmark.md)."""
    return {"fire_key": at_key(TIME_KEY, fire_at) if fire_at is not None else None,
            "due_key": at_key(TIME_KEY, due_at) if due_at is not None else None}


def _ms(at: datetime) -> datetime:
    """Stored dates keep milliseconds (BSON): compare what a read returns."""
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


def announce_kind(kind: str) -> str:
    """Metric label of a ladder kind: warning, breach, escalation, urge, upgrade."""
    for base, label in (("escalate", "escalation"), ("urge", "urge")):
        if kind.startswith(base):
            return label
    return kind


@dataclass(frozen=True)
class Moment:
    kind: str  # warning | breach | escalate<N> | urge<N> | upgrade
    at: datetime
    to: str | None = None

    @property
    def level(self) -> int:
        return int(self.kind.removeprefix("escalate").removeprefix("urge") or 0)


@dataclass(frozen=True)
class StepTimer:
    """The one timer document of (order, step): its deadline and how far its ladder has run."""

    ticket_no: str
    step: str
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None
    department: str
    severity: str
    intake_at: datetime
    fire_at: datetime | None
    done: tuple[str, ...] = ()
    escalate_to: tuple[str, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return f"{self.ticket_no}:{self.step}"

    def same_clock(self, other: StepTimer) -> bool:
        return (self.started_at, self.due_at, self.warn_at, self.department, self.escalate_to) \
            == (other.started_at, other.due_at, other.warn_at, other.department,
                other.escalate_to)

    def to_doc(self) -> dict[str, Any]:
        return {"_id": self.id, "ticket_no": self.ticket_no, "step": self.step,
                "started_at": self.started_at, "due_at": self.due_at, "warn_at": self.warn_at,
                "department": self.department, "severity": self.severity,
                "intake_at": self.intake_at, "fire_at": self.fire_at, "done": list(self.done),
                "escalate_to": list(self.escalate_to), "state": "pending",
                **time_keys(self.fire_at, self.due_at)}

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> StepTimer:
        return cls(ticket_no=d["ticket_no"], step=d["step"], started_at=d["started_at"],
                   due_at=d["due_at"], warn_at=d.get("warn_at"), department=d["department"],
                   severity=d.get("severity", "general"), intake_at=d["intake_at"],
                   fire_at=d.get("fire_at"), done=tuple(d.get("done") or ()),
                   escalate_to=tuple(d.get("escalate_to") or ()))


def moments(t: StepTimer, policies: SlaPolicies) -> list[Moment]:
    """The ladder of one clock, in time order."""
    if t.step == UPGRADE:
        return [Moment(UPGRADE, t.due_at)]
    out = [Moment("breach", t.due_at)]
    if t.warn_at is not None and t.warn_at < t.due_at:
        out.append(Moment("warning", t.warn_at))
    if t.step in policies.escalate_steps:
        for level, hours in enumerate(policies.escalation.after_hours, start=1):
            to = t.escalate_to[min(level, len(t.escalate_to)) - 1] if t.escalate_to else None
            out.append(Moment(f"escalate{level}", t.due_at + timedelta(hours=hours), to))
        gap, at = timedelta(hours=policies.urging.first_after_hours), t.due_at
        for n in range(1, policies.urging.max_count + 1):
            at = at + gap
            out.append(Moment(f"urge{n}", at))
            gap = gap * policies.urging.decay
    return sorted(out, key=lambda m: (m.at, m.kind))


def _next(t: StepTimer, policies: SlaPolicies) -> datetime | None:
    return next((m.at for m in moments(t, policies) if m.kind not in t.done), None)


def _department(step: str, order: WorkOrder, centre: str) -> str:
    if step in _CENTRE_STEPS or order.dispatch is None:
        return centre
    return order.dispatch.department


def _upgrade_clock(order: WorkOrder, policies: SlaPolicies) -> StepDeadline | None:
    sla = order.sla
    if sla is None or order.status not in _OPEN_FOR_UPGRADE:
        return None
    days = {"general": policies.upgrade_to_major_after_days,
            "important": policies.upgrade_important_after_days}.get(sla.severity or "")
    if days is None:
        return None
    return StepDeadline(started_at=order.received_at,
                        due_at=order.received_at + timedelta(days=days))


def desired(order: WorkOrder, policies: SlaPolicies, supervisor_of: dict[str, str],
            centre: str) -> dict[str, StepTimer]:
    """The timers the order's stored deadlines call for (announced steps, running clocks)."""
    sla = order.sla
    if sla is None:
        return {}
    clocks = {s: c for s, c in sla.steps.items() if s in policies.announce_steps}
    up = _upgrade_clock(order, policies)
    if up is not None:
        clocks[UPGRADE] = up
    out: dict[str, StepTimer] = {}
    for step, c in clocks.items():
        if c.due_at is None:
            continue  # suspended: no deadline until the order resumes
        dept = _department(step, order, centre)
        ladder = (supervisor_of.get(dept, policies.escalation.leadership),
                  policies.escalation.leadership)
        out[step] = StepTimer(ticket_no=order.ticket_no, step=step,
                              started_at=_ms(c.started_at), due_at=_ms(c.due_at),
                              warn_at=_ms(c.warn_at) if c.warn_at else None, department=dept,
                              severity=sla.severity or "general", intake_at=order.received_at,
                              fire_at=None, escalate_to=ladder)
    return out


def plan(order: WorkOrder, existing: dict[str, StepTimer], now: datetime,
         policies: SlaPolicies, supervisor_of: dict[str, str], centre: str
         ) -> tuple[list[StepTimer], list[str]]:
    """Timers to write and timer ids to delete: only the clocks whose deadline changed."""
    want = desired(order, policies, supervisor_of, centre)
    writes: list[StepTimer] = []
    deletes = [old.id for step, old in existing.items() if step not in want]
    for step, new in want.items():
        old = existing.get(step)
        if old is not None and old.same_clock(new):
            continue
        done: tuple[str, ...] = ()
        if old is not None and old.started_at == new.started_at:
            # the same clock, a moved deadline: what was announced and is past again stays done
            past = {m.kind for m in moments(new, policies) if m.at <= now}
            done = tuple(k for k in old.done if k in past)
        new = replace(new, done=done)
        new = replace(new, fire_at=_next(new, policies))
        if new.fire_at is not None:
            writes.append(new)
        elif old is not None:
            deletes.append(old.id)
    return writes, deletes


def due_now(t: StepTimer, now: datetime, policies: SlaPolicies
            ) -> tuple[list[Moment], StepTimer]:
    """The moments to announce at `now` and the timer advanced past them.

    Catching up after an outage, only the latest of a run of due warnings / urges is
    announced (a warning whose breach is due as well is not); breaches and escalations are.
    """
    due = [m for m in moments(t, policies) if m.kind not in t.done and m.at <= now]
    kinds = {m.kind for m in due}
    out = []
    for m in due:
        if m.kind == "warning" and "breach" in kinds:
            continue
        if m.kind.startswith("urge") and f"urge{m.level + 1}" in kinds:
            continue
        out.append(m)
    after = replace(t, done=t.done + tuple(m.kind for m in due))
    return out, replace(after, fire_at=_next(after, policies))


def event_for(t: StepTimer, m: Moment, now: datetime
              ) -> SlaWarning | SlaBreached | SlaEscalated | TicketUrged:
    """The announcement; its id is (order, step, kind, deadline), so it is made once."""
    eid = f"{t.ticket_no}:{t.step}:{m.kind}:{t.due_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    lateness = (now - t.due_at).total_seconds()
    common: dict[str, Any] = {"event_id": eid, "ticket_no": t.ticket_no, "occurred_at": now,
                              "intake_at": t.intake_at}
    if m.kind == "warning":
        return SlaWarning(**common, step=t.step, department=t.department,  # type: ignore[arg-type]
                          due_at=t.due_at, lateness_seconds=lateness)
    if m.kind == "breach":
        return SlaBreached(**common, step=t.step, department=t.department,  # type: ignore[arg-type]
                           due_at=t.due_at, lateness_seconds=lateness)
    if m.kind.startswith("escalate"):
        return SlaEscalated(**common, step=t.step, department=t.department,  # type: ignore[arg-type]
                            escalated_to=m.to or "leadership", level=m.level, due_at=t.due_at,
                            lateness_seconds=lateness)
    return TicketUrged(**common, department=t.department, urged_by="sla_monitor",
                       note=f"催办 {m.level}: {t.step} overdue {int(lateness // 60)} min")
