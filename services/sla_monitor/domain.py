"""Pure SLA rules: an order's clocks recomputed from its lifecycle log, and the timers they need.

Nothing here reads the clock or the store. The monitor keeps, per order, the lifecycle facts it
has seen (dispatch, transfer, return, sign, suspend, resume, extension, reply, close, reopen,
upgrade), merged with the order's stored history; every change recomputes every deadline from
that log (never from counters), under a new *generation*. Timer ids carry the generation, so a
recomputation supersedes the old timers, and a timer fires only if its generation is current.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.calendar import BusinessCalendar
from shared.contracts import (
    SlaBreached,
    SlaEscalated,
    SlaWarning,
    TicketDispatched,
    TicketUrged,
)
from shared.sla import SlaPolicies, StepLimit, due_after, warning_time

__all__ = [
    "LIFECYCLE_KINDS",
    "Clocks",
    "Facts",
    "LogEntry",
    "Timer",
    "compute_clocks",
    "fired_event",
    "kind_of",
    "merge_log",
    "timers_for",
    "timers_for_clocks",
]

Kind = str  # warning | breach | escalate<N> | urge<N> | upgrade
LIFECYCLE_KINDS = ("dispatched", "transferred", "returned", "signed", "suspended", "resumed",
                   "extension_approved", "replied", "closed", "reopened", "upgraded")
# History actions (the dispatcher's audit trail) that mean the same as a lifecycle event.
_ACTION_ALIASES = {
    "dispatch": "dispatched", "redispatch": "dispatched", "assign": "dispatched",
    "transfer": "transferred", "reassign": "transferred",
    "return": "returned", "sign": "signed", "sign_for": "signed", "suspend": "suspended",
    "resume": "resumed", "approve_extension": "extension_approved", "extend": "extension_approved",
    "reply": "replied", "close": "closed", "reopen": "reopened",
}
SEVERITY_RANK = {"general": 0, "important": 1, "major": 2, "urgent": 3}


def kind_of(action: str) -> str | None:
    """The lifecycle kind of an event type (`ticket.signed`) or history action (`sign`)."""
    a = action.removeprefix("ticket.").lower()
    if a in LIFECYCLE_KINDS:
        return a
    return _ACTION_ALIASES.get(a)


def _ms(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class LogEntry:
    """One lifecycle fact. Two entries with the same kind and time are the same fact."""

    kind: str
    at: datetime
    department: str | None = None
    severity: str | None = None
    new_due: datetime | None = None

    def __post_init__(self) -> None:
        # Stored dates keep milliseconds (BSON): truncate, so a fact read back is the same fact.
        object.__setattr__(self, "at", _ms(self.at))
        if self.new_due is not None:
            object.__setattr__(self, "new_due", _ms(self.new_due))

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.at.isoformat())

    def to_doc(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "department": self.department,
                "severity": self.severity, "new_due": self.new_due}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> LogEntry:
        return cls(kind=doc["kind"], at=doc["at"], department=doc.get("department"),
                   severity=doc.get("severity"), new_due=doc.get("new_due"))


@dataclass(frozen=True)
class Facts:
    """What the policy is chosen by; fixed at the first dispatch."""

    ticket_no: str
    intake_at: datetime
    profile: str
    severity: str
    department: str
    channel: str | None = None
    category: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class Clocks:
    """Deadlines of the running clocks (absent: stopped or not started), with their starts."""

    department: str
    severity: str
    rule: str
    due: dict[str, datetime] = field(default_factory=dict)
    warn: dict[str, datetime] = field(default_factory=dict)
    upgrade_at: datetime | None = None
    suspended: bool = False


def merge_log(*logs: list[LogEntry]) -> list[LogEntry]:
    """One log, each fact once, in time order (ties keep the lifecycle order of kinds)."""
    seen: dict[tuple[str, str], LogEntry] = {}
    for log in logs:
        for e in log:
            seen.setdefault(e.key, e)
    return sorted(seen.values(), key=lambda e: (e.at, LIFECYCLE_KINDS.index(e.kind)))


def compute_clocks(facts: Facts, log: list[LogEntry], policies: SlaPolicies,
                   cal: BusinessCalendar) -> Clocks:
    """Every step's deadline, replaying the log from the start."""
    department, severity = facts.department, facts.severity
    sign_start: datetime | None = None
    res_start: datetime | None = None
    signed = returned = closed = False
    replied_at: datetime | None = None
    first_reply: datetime | None = None
    extension: LogEntry | None = None
    pauses: list[tuple[datetime, datetime | None]] = []
    paused_since: datetime | None = None
    for e in merge_log(log):
        if e.kind == "dispatched":
            sign_start, signed, returned = e.at, False, False
            res_start = res_start or e.at
            department = e.department or department
            severity = e.severity or severity
        elif e.kind == "transferred":
            sign_start, signed, returned = e.at, False, False
            department = e.department or department
        elif e.kind == "returned":
            returned = True
        elif e.kind == "signed":
            signed = True
        elif e.kind == "suspended":
            paused_since = paused_since or e.at
        elif e.kind == "resumed" and paused_since is not None:
            pauses.append((paused_since, e.at))
            paused_since = None
        elif e.kind == "extension_approved" and e.new_due is not None:
            extension = e
        elif e.kind == "replied":
            replied_at = e.at
            first_reply = first_reply or e.at
        elif e.kind == "closed":
            closed = True
        elif e.kind == "reopened":
            res_start, replied_at, extension, signed, closed = None, None, None, False, False
        elif e.kind == "upgraded" and e.severity:
            if SEVERITY_RANK.get(e.severity, 0) > SEVERITY_RANK.get(severity, 0):
                severity = e.severity
    if paused_since is not None:
        pauses.append((paused_since, None))
    rule = policies.rule_for(facts.profile, severity=severity, level=facts.level,
                             channel=facts.channel, category=facts.category)
    ratio = policies.warn_ratio_of(rule)
    starts: dict[str, tuple[datetime, StepLimit]] = {}
    if closed:
        pass
    else:
        if sign_start and not signed and not returned and replied_at is None \
                and "sign_for" in rule.steps:
            starts["sign_for"] = (sign_start, rule.steps["sign_for"])
        if first_reply is None and "first_response" in rule.steps:
            starts["first_response"] = (facts.intake_at, rule.steps["first_response"])
        if res_start and replied_at is None and "resolution" in rule.steps:
            limit = rule.steps["resolution"]
            if extension is not None and extension.new_due is not None:
                hours = max((extension.new_due - extension.at).total_seconds() / 3600, 1e-6)
                starts["resolution"] = (extension.at, StepLimit(hours=hours, basis="calendar"))
            else:
                starts["resolution"] = (res_start, limit)
        if replied_at is not None and "revisit" in rule.steps:
            starts["revisit"] = (replied_at, rule.steps["revisit"])
    due: dict[str, datetime] = {}
    warn: dict[str, datetime] = {}
    for step, (start, limit) in starts.items():
        step_pauses = pauses if step != "revisit" else []
        d = due_after(start, limit, cal, step_pauses)
        if d is None:
            continue
        due[step] = d
        w = due_after(start, limit.model_copy(update={"hours": limit.hours * ratio}), cal,
                      step_pauses)
        if w is not None:
            warn[step] = w
    upgrade_at = None
    if not closed and severity in ("general", "important") and replied_at is None:
        upgrade_at = facts.intake_at + timedelta(days=policies.upgrade_to_major_after_days)
    elif not closed and severity == "important":
        upgrade_at = facts.intake_at + timedelta(days=policies.upgrade_important_after_days)
    return Clocks(department=department, severity=severity, rule=rule.name, due=due, warn=warn,
                  upgrade_at=upgrade_at, suspended=paused_since is not None)


@dataclass(frozen=True)
class Timer:
    """One future moment at which something is announced for a step."""

    ticket_no: str
    step: str
    kind: Kind
    fire_at: datetime
    due_at: datetime
    department: str
    intake_at: datetime
    generation: int = 0
    severity: str = "general"
    escalated_to: str | None = None

    @property
    def id(self) -> str:
        return f"{self.ticket_no}:g{self.generation}:{self.step}:{self.kind}"

    @property
    def level(self) -> int:
        return int(self.kind.removeprefix("escalate").removeprefix("urge") or 0)


def timers_for_clocks(facts: Facts, clocks: Clocks, generation: int, policies: SlaPolicies,
                      supervisor_of: dict[str, str]) -> list[Timer]:
    """Warning, breach, escalation ladder and decaying urging of every running clock."""
    out: list[Timer] = []

    def add(step: str, kind: str, at: datetime, due: datetime, to: str | None = None) -> None:
        out.append(Timer(ticket_no=facts.ticket_no, step=step, kind=kind, fire_at=at,
                         due_at=due, department=clocks.department, intake_at=facts.intake_at,
                         generation=generation, severity=clocks.severity, escalated_to=to))

    for step, due in clocks.due.items():
        if step in clocks.warn:
            add(step, "warning", clocks.warn[step], due)
        add(step, "breach", due, due)
        if step not in policies.announce_steps:
            continue
        ladder = [supervisor_of.get(clocks.department, policies.escalation.leadership),
                  policies.escalation.leadership]
        for level, hours in enumerate(policies.escalation.after_hours, start=1):
            to = ladder[min(level, len(ladder)) - 1]
            add(step, f"escalate{level}", due + timedelta(hours=hours), due, to)
        gap = timedelta(hours=policies.urging.first_after_hours)
        at = due
        for n in range(1, policies.urging.max_count + 1):
            at = at + gap
            add(step, f"urge{n}", at, due)
            gap = gap * policies.urging.decay
    if clocks.upgrade_at is not None:
        add("resolution", "upgrade", clocks.upgrade_at, clocks.upgrade_at)
    return out


def timers_for(event: TicketDispatched, warn_ratio: float) -> list[Timer]:
    """The four timers of the deadlines a dispatch event stamps (calendar time, generation 0).

    Kept for callers that work from the dispatcher's stamped `sign_for_due` / `resolution_due`
    (the notifier's tests); the monitor itself uses `compute_clocks` and `timers_for_clocks`.
    """
    start = event.occurred_at
    timers: list[Timer] = []
    for step, due in (("sign_for", event.sign_for_due), ("resolution", event.resolution_due)):
        for kind, fire_at in (("warning", warning_time(start, due, warn_ratio)), ("breach", due)):
            timers.append(Timer(ticket_no=event.ticket_no, step=step, kind=kind,
                                fire_at=fire_at, due_at=due, department=event.department,
                                intake_at=event.intake_at, severity=event.severity.value))
    return timers


def fired_event(timer: Timer, now: datetime
                ) -> SlaWarning | SlaBreached | SlaEscalated | TicketUrged | None:
    """The event a timer announces at `now`; its id is the timer's, so it is unique."""
    lateness = (now - timer.due_at).total_seconds()
    common = {"event_id": timer.id, "ticket_no": timer.ticket_no, "occurred_at": now,
              "intake_at": timer.intake_at}
    if timer.kind in ("warning", "breach"):
        cls = SlaWarning if timer.kind == "warning" else SlaBreached
        return cls(**common, step=timer.step, department=timer.department,  # type: ignore[arg-type]
                   due_at=timer.due_at, lateness_seconds=lateness)
    if timer.kind.startswith("escalate"):
        return SlaEscalated(**common, step=timer.step, department=timer.department,  # type: ignore[arg-type]
                            escalated_to=timer.escalated_to or "leadership",
                            level=timer.level, due_at=timer.due_at, lateness_seconds=lateness)
    if timer.kind.startswith("urge"):
        return TicketUrged(event_id=timer.id, ticket_no=timer.ticket_no, occurred_at=now,
                           intake_at=timer.intake_at, department=timer.department,
                           urged_by="sla_monitor",
                           note=f"催办 {timer.level}: {timer.step} overdue "
                                f"{int(lateness // 60)} min")
    return None
