"""The one deadline computation: every step's deadline of a work order, from its history.

`compute(order, ...)` replays the order's audit trail (the dispatcher's and intake's history
entries) and applies the policy rule chosen by the order's profile, severity (raised by
`upgrade` entries), customer level, channel and category code. Pure: no clock, no I/O.
Whoever changes an order calls `DeadlineBook.stamp` in the same write, so the stored
`WorkOrder.sla` is always the deadline that is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from suqiu.shared.calendar import BusinessCalendar
from suqiu.shared.contracts import SlaDeadlines, StepDeadline, TicketStatus, WorkOrder
from suqiu.shared.sla.clock import due_after, moved_by_pauses
from suqiu.shared.sla.policy import SlaPolicies, StepLimit

__all__ = ["DISPATCH_ACTIONS", "DeadlineBook", "compute"]

S = TicketStatus
DISPATCH_ACTIONS = frozenset({"dispatch", "redispatch", "assign", "transfer", "reassign",
                              "reopen"})
SEVERITY_RANK = {"general": 0, "important": 1, "major": 2, "urgent": 3}
_ENDED = frozenset({S.CLOSED, S.ARCHIVED})
_PAUSED_STEPS = frozenset({"first_response", "resolution"})


@dataclass
class _Replay:
    """What the history says about each clock at its end."""

    starts: dict[str, datetime] = field(default_factory=dict)
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    paused_since: datetime | None = None
    extension_due: datetime | None = None
    extension_at: datetime | None = None
    first_reply: datetime | None = None
    severity: str = "general"

    def stop(self, *steps: str) -> None:
        for s in steps:
            self.starts.pop(s, None)


def _upgrade(r: _Replay, severity: str | None) -> None:
    if severity and SEVERITY_RANK.get(severity, -1) > SEVERITY_RANK.get(r.severity, 0):
        r.severity = severity


def _replay(order: WorkOrder) -> _Replay:
    r = _Replay(severity=order.classification.severity.value if order.classification else
                "general")
    for h in sorted(order.history, key=lambda e: e.at):
        to, frm, at = h.to_status, h.from_status, h.at
        if frm is S.SUSPENDED and to is not S.SUSPENDED and r.paused_since is not None:
            r.pauses.append((r.paused_since, at))
            r.paused_since = None
        if to is S.SUSPENDED and frm is not S.SUSPENDED:
            r.paused_since = at
        if to is S.INVALID and frm is not S.INVALID:
            r.starts["callback"] = at
        elif frm is S.INVALID and to is not S.INVALID:
            r.stop("callback")
        if to not in (S.INVALID,) and "first_response" not in r.starts and r.first_reply is None \
                and to not in _ENDED:
            r.starts["first_response"] = order.received_at if frm is None else at
        if to is S.TRIAGE and frm is not S.TRIAGE:
            r.starts["triage"] = at
            r.stop("sign_for")
        elif frm is S.TRIAGE and to is not S.TRIAGE:
            r.stop("triage")
        if h.action in DISPATCH_ACTIONS and to is S.DISPATCHED:
            r.starts["sign_for"] = at
            if h.action == "reopen":
                r.stop("resolution", "feedback", "revisit")
                r.extension_due = None
            r.starts.setdefault("resolution", at)
        elif h.action == "sign":
            r.stop("sign_for")
        elif h.action == "approve_extension" and h.note:
            try:  # the dispatcher notes the approved deadline (ISO) on the entry
                r.extension_due, r.extension_at = datetime.fromisoformat(h.note), at
            except ValueError:
                pass
        elif h.action == "upgrade":
            _upgrade(r, h.note)
        if to is S.REPLIED and frm is not S.REPLIED:
            r.first_reply = r.first_reply or at
            r.stop("sign_for", "first_response", "resolution")
            r.starts["feedback"] = at
            r.starts["revisit"] = at
        if to is S.FEEDBACK_GIVEN:
            r.stop("feedback")
        if to in _ENDED:
            r.starts.clear()
    if r.paused_since is not None:
        r.pauses.append((r.paused_since, None))
    return r


def compute(order: WorkOrder, policies: SlaPolicies, cal: BusinessCalendar, *,
            profile: str, category_codes: dict[str, str] | None = None) -> SlaDeadlines:
    """Every running step's deadline and warning moment, replaying the history from the start."""
    r = _replay(order)
    cls = order.classification
    codes = category_codes or {}
    category: tuple[str, ...] = ()
    if cls is not None:  # the classifier stores names; rules match codes
        category = (codes.get(cls.category, cls.category),)
        if cls.subcategory:
            category += (codes.get(cls.subcategory, cls.subcategory),)
    level = order.channel_details.get("customer_level") or order.channel_details.get("level")
    rule = policies.rule_for(profile, severity=r.severity, level=str(level) if level else None,
                             channel=order.channel.value, category=category)
    ratio = policies.warn_ratio_of(rule)
    steps: dict[str, StepDeadline] = {}
    for step, start in r.starts.items():
        limit = policies.limit(rule, step)
        if limit is None:
            continue
        pauses = r.pauses if step in _PAUSED_STEPS else []
        if step == "resolution" and r.extension_due is not None and r.extension_at is not None:
            # an approved deadline is absolute; only later suspensions push it back
            due = moved_by_pauses(r.extension_due, r.extension_at, pauses)
            warn = moved_by_pauses(r.extension_at + (r.extension_due - r.extension_at) * ratio,
                                   r.extension_at, pauses)
        else:
            due = due_after(start, limit, cal, pauses)
            warn = due_after(start, StepLimit(hours=limit.hours * ratio, basis=limit.basis),
                             cal, pauses)
        steps[step] = StepDeadline(started_at=start, due_at=due,
                                   warn_at=warn if due is not None else None)
    return SlaDeadlines(policy_version=policies.version, rule=rule.name, severity=r.severity,
                        steps=steps, suspended=r.paused_since is not None)


@dataclass(frozen=True)
class DeadlineBook:
    """The policy, the calendar and the catalogue facts a deadline needs, loaded once."""

    policies: SlaPolicies
    calendar: BusinessCalendar
    profile: str
    category_codes: dict[str, str] = field(default_factory=dict)

    def compute(self, order: WorkOrder) -> SlaDeadlines:
        return compute(order, self.policies, self.calendar, profile=self.profile,
                       category_codes=self.category_codes)

    def stamp(self, order: WorkOrder) -> WorkOrder:
        """The order with its stored deadlines recomputed (unchanged order if they are equal)."""
        sla = self.compute(order)
        return order if sla == order.sla else order.model_copy(update={"sla": sla})
