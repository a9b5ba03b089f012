"""The work-order lifecycle as a pure, table-driven state machine (DOMAIN.md steps 5-11).

`transition(order, command, now, policy) -> (order, events)`: the table says which role may
give which command in which state; a refused command raises `Refused` with a reason code.
Every accepted command appends an audit line (actor, role, time, reason, from, to) and
increments the version (a return that re-dispatches at once: twice). No I/O, no clock: time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.dispatcher.routing import Route
from shared.catalogue import Catalogue
from shared.contracts import (
    Dispatch,
    HistoryEntry,
    TicketClosed,
    TicketDispatched,
    TicketEscalated,
    TicketExtensionApproved,
    TicketExtensionRequested,
    TicketReopened,
    TicketReplied,
    TicketResumed,
    TicketReturned,
    TicketRevisitRequested,
    TicketSigned,
    TicketStatus,
    TicketSuspended,
    TicketTransferred,
    TicketTriageRequired,
    TicketUrged,
    WorkOrder,
)
from shared.sla import DeadlineBook, default_book

__all__ = [
    "ACTIONS",
    "TABLE",
    "Command",
    "Lifecycle",
    "Policy",
    "Refused",
    "dispatched_event",
    "lifecycle_of",
    "route_order",
    "transition",
]

S = TicketStatus
Role = Literal["department", "supervisor", "operator", "system"]
Satisfaction = Literal["非常满意", "满意", "基本满意", "不满意"]
Action = Literal["assign", "sign", "return", "transfer", "reassign", "start", "suspend", "resume",
                 "request_extension", "approve_extension", "reject_extension", "escalate",
                 "reply", "feedback", "revisit", "close", "archive", "reopen", "urge", "note"]
_KEEP_APPLIED = 50
SATISFIED = frozenset({"非常满意", "满意", "基本满意"})

HANDLING = frozenset({S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.SUSPENDED, S.EXTENSION_REQUESTED})
OPEN = HANDLING | {S.TRIAGE, S.REPLIED, S.FEEDBACK_GIVEN}
ANY = OPEN | {S.CLOSED, S.ARCHIVED}


class Refused(ValueError):
    """A command the state machine does not allow; `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Rule:
    """One row of the transition table: who may, from where, to where (None: decided by the step)."""

    roles: frozenset[str]
    sources: frozenset[TicketStatus]
    target: TicketStatus | None
    lead_only: bool = False
    reason_required: bool = False


def _r(roles: str, sources: frozenset[TicketStatus] | set[TicketStatus],
       target: TicketStatus | None, **kw: bool) -> Rule:
    return Rule(frozenset(roles.split()), frozenset(sources), target, **kw)


TABLE: dict[str, Rule] = {
    "assign": _r("operator supervisor", {S.TRIAGE}, S.DISPATCHED),
    "sign": _r("department", HANDLING, None),
    "return": _r("department", {S.DISPATCHED, S.SIGNED}, None, lead_only=True,
                 reason_required=True),
    "transfer": _r("department", {S.DISPATCHED, S.SIGNED, S.IN_PROGRESS}, S.DISPATCHED,
                   lead_only=True, reason_required=True),
    "reassign": _r("supervisor operator", HANDLING | {S.TRIAGE}, S.DISPATCHED,
                   reason_required=True),
    "start": _r("department", {S.SIGNED}, S.IN_PROGRESS, lead_only=True),
    "suspend": _r("department", {S.SIGNED, S.IN_PROGRESS}, S.SUSPENDED, lead_only=True,
                  reason_required=True),
    "resume": _r("department supervisor", {S.SUSPENDED}, None, lead_only=True),
    "request_extension": _r("department", {S.SIGNED, S.IN_PROGRESS}, S.EXTENSION_REQUESTED,
                            lead_only=True, reason_required=True),
    "approve_extension": _r("supervisor", {S.EXTENSION_REQUESTED}, S.IN_PROGRESS),
    "reject_extension": _r("supervisor", {S.EXTENSION_REQUESTED}, S.IN_PROGRESS,
                           reason_required=True),
    "escalate": _r("supervisor system", OPEN, None, reason_required=True),
    "reply": _r("department", {S.SIGNED, S.IN_PROGRESS}, None),
    "feedback": _r("operator system", {S.REPLIED}, S.FEEDBACK_GIVEN),
    "revisit": _r("operator system", {S.REPLIED, S.FEEDBACK_GIVEN}, None),
    "close": _r("supervisor", OPEN, S.CLOSED, reason_required=True),
    "archive": _r("operator supervisor system", {S.CLOSED}, S.ARCHIVED),
    "reopen": _r("supervisor", {S.CLOSED}, S.DISPATCHED, reason_required=True),
    "urge": _r("supervisor", HANDLING, None),
    "note": _r("supervisor", ANY, None, reason_required=True),
}
ACTIONS: tuple[str, ...] = tuple(TABLE)


class Command(BaseModel):
    """A department's, supervisor's or operator's command on one work order."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    type: Literal["dispatcher.command"] = "dispatcher.command"
    schema_version: Literal[1] = 1
    command_id: str = Field(min_length=1, max_length=200)
    ticket_no: str = Field(min_length=1, max_length=64)
    action: Action
    actor: str = Field(min_length=1, max_length=64, description="Unit or staff id, never a name.")
    role: Role
    department: str | None = Field(default=None, description="The acting department (role department).")
    reason: str | None = Field(default=None, max_length=500)
    target: str | None = Field(default=None, description="Department for assign / transfer / reassign.")
    co: list[str] = Field(default_factory=list, description="Co-handling departments for assign.")
    summary: str | None = Field(default=None, max_length=500, description="Reply text for the person.")
    satisfaction: Satisfaction | None = None
    new_due: AwareDatetime | None = Field(default=None, description="Requested resolution deadline.")
    override: bool = Field(default=False, description="Lead replies before assisting replies (with reason).")
    expected_version: int | None = Field(default=None, ge=1)


class Lifecycle(BaseModel):
    """The dispatcher's state stored on the order (`WorkOrder.lifecycle`)."""

    model_config = ConfigDict(extra="forbid")

    lead: str | None = None
    co: list[str] = Field(default_factory=list)
    candidates: list[str] = Field(default_factory=list)
    returned_by: list[str] = Field(default_factory=list)
    signed: dict[str, datetime] = Field(default_factory=dict)
    replies: dict[str, str] = Field(default_factory=dict)
    resume_to: TicketStatus | None = None
    extension_due: datetime | None = None
    escalation_level: int = 0
    escalated_to: str | None = None
    dispatch_round: int = 0
    reopen_round: int = 0
    dissatisfied: int = 0
    revisit_due: datetime | None = None
    satisfaction: str | None = None
    master: str | None = None
    members: list[str] = Field(default_factory=list)
    labels: list[dict[str, Any]] = Field(
        default_factory=list, description="Department corrections: training labels for the classifier.")
    notes: list[dict[str, Any]] = Field(default_factory=list)
    applied: list[str] = Field(default_factory=list, description="Recent command ids (dedupe).")


@dataclass(frozen=True)
class Policy:
    """The operator's numbers the state machine needs."""

    catalogue: Catalogue
    revisit_days: float = 7
    max_dissatisfied: int = 2
    ladder: tuple[str, ...] = field(default_factory=tuple)
    deadlines: DeadlineBook | None = None

    def stamp(self, order: WorkOrder) -> WorkOrder:
        """The order with its deadlines recomputed by the one SLA module (shared.sla)."""
        return (self.deadlines or default_book(self.catalogue)).stamp(order)


def lifecycle_of(order: WorkOrder) -> Lifecycle:
    return Lifecycle.model_validate(order.lifecycle or {})


# --- routing / dispatch ------------------------------------------------------------------


def route_order(order: WorkOrder, route: Route, policy: Policy, now: datetime,
                *, actor: str = "dispatcher", role: str = "system") -> tuple[WorkOrder, list[BaseModel]]:
    """classified -> dispatched (or -> triage): the first dispatch of an order."""
    if order.status is not S.CLASSIFIED or order.classification is None:
        raise Refused("illegal_state", f"cannot dispatch a ticket in status {order.status}")
    lc = lifecycle_of(order)
    if route.triage:
        lc.candidates = list(route.candidates)
        out = policy.stamp(_move(order, lc, S.TRIAGE, now, actor, role, "triage", None,
                                 note=f"rule {route.rule}"))
        return out, [_triage_event(out, now)]
    lc.candidates = [c for c in route.candidates if c != route.lead]
    out = _dispatch_to(order, lc, route.lead, list(route.co), policy, now, actor, role,
                       "dispatch", None)
    return out, [dispatched_event(out)]


def _dispatch_to(order: WorkOrder, lc: Lifecycle, dept: str, co: list[str], policy: Policy,
                 now: datetime, actor: str, role: str, action: str, reason: str | None,
                 *, extra_note: str | None = None) -> WorkOrder:
    cat = policy.catalogue
    try:
        d = cat.department(dept)
    except KeyError as exc:
        raise Refused("unknown_department", f"no department {dept!r}") from exc
    unknown = [c for c in co if c not in {x.id for x in cat.departments}]
    if unknown:
        raise Refused("unknown_department", f"no department {unknown[0]!r}")
    assert order.classification is not None
    lc.lead, lc.co = dept, [c for c in co if c != dept]
    lc.signed, lc.replies, lc.extension_due, lc.resume_to = {}, {}, None, None
    lc.dispatch_round += 1
    base = order.model_copy(update={
        "dispatch": Dispatch(department=d.id, department_name=d.name, co_departments=lc.co,
                             dispatched_at=now),
    })
    return policy.stamp(_move(base, lc, S.DISPATCHED, now, actor, role, action, reason,
                              note=extra_note or f"-> {d.id}"))


def _move(order: WorkOrder, lc: Lifecycle, to: TicketStatus, now: datetime, actor: str,
          role: str, action: str, reason: str | None, *, note: str | None = None) -> WorkOrder:
    entry = HistoryEntry(at=now, actor=actor, role=role, action=action, from_status=order.status,
                         to_status=to, reason=reason, note=note)
    return order.model_copy(update={
        "status": to,
        "updated_at": now,
        "version": order.version + 1,
        "history": [*order.history, entry],
        "lifecycle": lc.model_dump(mode="python"),
    })


# --- events ------------------------------------------------------------------------------


def _eid(order: WorkOrder, kind: str) -> str:
    return f"{order.ticket_no}:{kind}:{order.version}"


def dispatched_event(order: WorkOrder) -> TicketDispatched:
    """ticket.dispatched; the first dispatch keeps the id `<no>:dispatched`, later ones add the version."""
    d, s, c = order.dispatch, order.sla, order.classification
    assert d is not None and s is not None and c is not None
    first = lifecycle_of(order).dispatch_round <= 1
    return TicketDispatched(
        event_id=f"{order.ticket_no}:dispatched" if first else _eid(order, "dispatched"),
        ticket_no=order.ticket_no, occurred_at=d.dispatched_at, intake_at=order.received_at,
        department=d.department, severity=c.severity, sign_for_due=s.required("sign_for"),
        resolution_due=s.required("resolution"),
    )


def _triage_event(order: WorkOrder, now: datetime) -> TicketTriageRequired:
    c = order.classification
    assert c is not None
    return TicketTriageRequired(
        event_id=_eid(order, "triage_required"), ticket_no=order.ticket_no, occurred_at=now,
        intake_at=order.received_at, category=c.category, department=c.department,
        confidence=c.confidence, threshold=0.0,
        candidates=lifecycle_of(order).candidates[:3])


def _life(cls: type[BaseModel], kind: str, order: WorkOrder, before: WorkOrder, actor: str,
          now: datetime, **kw: Any) -> BaseModel:
    return cls(event_id=_eid(order, kind), ticket_no=order.ticket_no, occurred_at=now,
               intake_at=order.received_at, version=order.version, actor=actor,
               from_status=before.status.value, to_status=order.status.value, **kw)


# --- the state machine -------------------------------------------------------------------


def _check(order: WorkOrder, cmd: Command, lc: Lifecycle) -> Rule:
    rule = TABLE.get(cmd.action)
    if rule is None:
        raise Refused("unknown_action", f"no command {cmd.action!r}")
    if cmd.role not in rule.roles:
        raise Refused("role_not_allowed", f"{cmd.role} may not {cmd.action}")
    if cmd.role == "department":
        if cmd.department is None or cmd.department not in {lc.lead, *lc.co}:
            raise Refused("not_your_order", "the order is not assigned to this department")
        if rule.lead_only and cmd.department != lc.lead:
            raise Refused("not_lead", f"only the lead department may {cmd.action}")
    if order.status not in rule.sources:
        raise Refused("illegal_state", f"cannot {cmd.action} in status {order.status.value}")
    if rule.reason_required and not cmd.reason:
        raise Refused("reason_required", f"{cmd.action} needs a reason")
    return rule


def transition(order: WorkOrder, cmd: Command, now: datetime,
               policy: Policy) -> tuple[WorkOrder, list[BaseModel]]:
    """Apply one command: the new order and the events to publish, or `Refused`."""
    if cmd.expected_version is not None and cmd.expected_version != order.version:
        raise Refused("version_conflict",
                      f"the order is at version {order.version}, not {cmd.expected_version}")
    lc = lifecycle_of(order)
    if cmd.command_id in lc.applied:
        raise Refused("duplicate_command", f"command {cmd.command_id} was applied already")
    rule = _check(order, cmd, lc)
    step = _STEPS.get(cmd.action, _simple)
    out, events = step(order, cmd, now, policy, lc, rule)
    done = lifecycle_of(out)
    done.applied = [*done.applied, cmd.command_id][-_KEEP_APPLIED:]
    return policy.stamp(out.model_copy(update={"lifecycle": done.model_dump(mode="python")})), events


Step = Any


def _simple(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
            rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    assert rule.target is not None
    out = _move(order, lc, rule.target, now, cmd.actor, cmd.role, cmd.action, cmd.reason)
    dept = lc.lead or ""
    events: list[BaseModel] = []
    if cmd.action == "suspend":
        events.append(_life(TicketSuspended, "suspended", out, order, cmd.actor, now,
                            department=dept, reason=cmd.reason or ""))
    elif cmd.action == "close":
        events.append(_life(TicketClosed, "closed", out, order, cmd.actor, now))
    return out, events


def _assign(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
            rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    if not cmd.target:
        raise Refused("target_required", f"{cmd.action} needs a target department")
    prev = lc.lead
    out = _dispatch_to(order, lc, cmd.target, cmd.co, policy, now, cmd.actor, cmd.role,
                       cmd.action, cmd.reason)
    events: list[BaseModel] = [dispatched_event(out)]
    if cmd.action in {"transfer", "reassign"} and prev:
        events.insert(0, _life(TicketTransferred, "transferred", out, order, cmd.actor, now,
                               from_department=prev, department=cmd.target, reason=cmd.reason))
        if cmd.action == "transfer":
            out = _label(out, prev, cmd.target, cmd.reason, now)
    return out, events


def _label(order: WorkOrder, wrong: str, right: str | None, reason: str | None,
           now: datetime) -> WorkOrder:
    """A department correction, kept as a training label for the classifier."""
    lc = lifecycle_of(order)
    c = order.classification
    lc.labels.append({"at": now, "predicted": c.department if c else None, "wrong": wrong,
                      "right": right, "category": c.category if c else None,
                      "reason": reason})
    return order.model_copy(update={"lifecycle": lc.model_dump(mode="python")})


def _sign(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
          rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    dept = cmd.department or ""
    if dept in lc.signed:
        raise Refused("already_signed", f"{dept} has signed already")
    lead = dept == lc.lead
    if lead and order.status is not S.DISPATCHED:
        raise Refused("illegal_state", f"cannot sign in status {order.status.value}")
    lc.signed[dept] = now
    to = S.SIGNED if lead else order.status
    out = _move(order, lc, to, now, cmd.actor, cmd.role, "sign" if lead else "co_sign",
                cmd.reason, note=dept)
    return out, [_life(TicketSigned, "signed" if lead else f"signed.{dept}", out, order,
                       cmd.actor, now, department=dept)]


def _return(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
            rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    dept = cmd.department or ""
    lc.returned_by.append(dept)
    nxt = next((c for c in lc.candidates if c not in lc.returned_by), None)
    returned = _move(order, lc, S.TRIAGE, now, cmd.actor, cmd.role, "return", cmd.reason,
                     note=dept)
    returned = _label(returned, dept, nxt, cmd.reason, now)
    events: list[BaseModel] = [_life(TicketReturned, "returned", returned, order, cmd.actor, now,
                                     department=dept, reason=cmd.reason or "")]
    if nxt is None:  # every candidate returned it: the triage queue, for an operator
        return returned, events
    lc2 = lifecycle_of(returned)
    out = _dispatch_to(returned, lc2, nxt, [c for c in lc2.co], policy, now, "dispatcher",
                       "system", "redispatch", None)
    return out, [*events, dispatched_event(out)]


def _resume(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
            rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    to = lc.resume_to or S.IN_PROGRESS
    lc.resume_to = None
    out = _move(order, lc, to, now, cmd.actor, cmd.role, "resume", cmd.reason)
    return out, [_life(TicketResumed, "resumed", out, order, cmd.actor, now,
                       department=lc.lead or "")]


def _suspend(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
             rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    lc.resume_to = order.status
    return _simple(order, cmd, now, policy, lc, rule)


def _request_extension(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                       lc: Lifecycle, rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    running = order.sla.resolution_due if order.sla else None
    if cmd.new_due is None or (running is not None and cmd.new_due <= running):
        raise Refused("new_due_required", "an extension needs a later resolution deadline")
    lc.extension_due = cmd.new_due
    out = _move(order, lc, S.EXTENSION_REQUESTED, now, cmd.actor, cmd.role, cmd.action,
                cmd.reason, note=cmd.new_due.isoformat())
    return out, [_life(TicketExtensionRequested, "extension_requested", out, order, cmd.actor,
                       now, department=lc.lead or "", requested_resolution_due=cmd.new_due,
                       reason=cmd.reason or "")]


def _decide_extension(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                      lc: Lifecycle, rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    due = lc.extension_due
    lc.extension_due = None
    if cmd.action == "reject_extension" or due is None or order.sla is None:
        return _move(order, lc, S.IN_PROGRESS, now, cmd.actor, cmd.role, cmd.action,
                     cmd.reason), []
    out = _move(order, lc, S.IN_PROGRESS, now, cmd.actor, cmd.role, cmd.action, cmd.reason,
                note=due.isoformat())
    return out, [TicketExtensionApproved(
        event_id=_eid(out, "extension_approved"), ticket_no=out.ticket_no, occurred_at=now,
        intake_at=out.received_at, department=lc.lead or "", new_resolution_due=due,
        reason=cmd.reason)]


def _escalation(order: WorkOrder, lc: Lifecycle, policy: Policy) -> str:
    """The next rung: the configured ladder, else the lead's parent chain in the catalogue."""
    lc.escalation_level += 1
    if policy.ladder:
        return policy.ladder[min(lc.escalation_level, len(policy.ladder)) - 1]
    current = lc.escalated_to or lc.lead or policy.catalogue.triage_department
    try:
        parent = policy.catalogue.department(current).parent
    except KeyError:
        parent = None
    return parent or current


def _escalate(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
              rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    to = _escalation(order, lc, policy)
    lc.escalated_to = to
    out = _move(order, lc, order.status, now, cmd.actor, cmd.role, "escalate", cmd.reason,
                note=f"level {lc.escalation_level} -> {to}")
    return out, [_life(TicketEscalated, "escalated", out, order, cmd.actor, now,
                       department=lc.lead or "", escalated_to=to, level=lc.escalation_level,
                       reason=cmd.reason)]


def _reply(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
           rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    dept = cmd.department or ""
    if not cmd.summary:
        raise Refused("summary_required", "a reply needs a summary")
    if dept in lc.replies:
        raise Refused("already_replied", f"{dept} has replied already")
    if dept not in lc.signed:
        raise Refused("not_signed", f"{dept} must sign before replying")
    if dept != lc.lead:  # an assisting department's reply: recorded, the order waits for the lead
        lc.replies[dept] = cmd.summary
        out = _move(order, lc, order.status, now, cmd.actor, cmd.role, "co_reply", cmd.reason,
                    note=dept)
        return out, []
    pending = [c for c in lc.co if c not in lc.replies]
    if pending and not (cmd.override and cmd.reason):
        raise Refused("assisting_replies_pending",
                      f"waiting for {', '.join(pending)} (or override with a reason)")
    lc.replies[dept] = cmd.summary
    lc.revisit_due = now + timedelta(days=policy.revisit_days)
    out = _move(order, lc, S.REPLIED, now, cmd.actor, cmd.role, "reply", cmd.reason,
                note="override" if pending else None)
    return out, [
        TicketReplied(event_id=_eid(out, "replied"), ticket_no=out.ticket_no, occurred_at=now,
                      intake_at=out.received_at, department=dept, summary=cmd.summary),
        TicketRevisitRequested(event_id=_eid(out, "revisit_requested"), ticket_no=out.ticket_no,
                               occurred_at=now, intake_at=out.received_at,
                               answer_by=lc.revisit_due),
    ]


def _revisit(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
             rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    if cmd.satisfaction is None:
        raise Refused("satisfaction_required", "a revisit needs the satisfaction answer")
    lc.satisfaction = cmd.satisfaction
    if cmd.satisfaction in SATISFIED:
        out = _move(order, lc, S.CLOSED, now, cmd.actor, cmd.role, "revisit", cmd.reason,
                    note=cmd.satisfaction)
        return out, [_life(TicketClosed, "closed", out, order, cmd.actor, now,
                           satisfaction=cmd.satisfaction)]
    lc.dissatisfied += 1
    return _reopen_and_dispatch(order, cmd, now, policy, lc, note=cmd.satisfaction)


def _reopen(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
            rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    return _reopen_and_dispatch(order, cmd, now, policy, lc, note=None)


def _reopen_and_dispatch(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                         lc: Lifecycle, *, note: str | None) -> tuple[WorkOrder, list[BaseModel]]:
    lc.reopen_round += 1
    lead = lc.lead or policy.catalogue.triage_department
    escalate = lc.dissatisfied >= policy.max_dissatisfied and note is not None
    to = _escalation(order, lc, policy) if escalate else None
    if to:
        lc.escalated_to = to
    out = _dispatch_to(order, lc, lead, list(lc.co), policy, now, cmd.actor, cmd.role,
                       "reopen", cmd.reason, extra_note=f"round {lc.reopen_round}"
                       + (f", {note}" if note else ""))
    events: list[BaseModel] = [
        _life(TicketReopened, "reopened", out, order, cmd.actor, now, round=lc.reopen_round,
              reason=cmd.reason or note),
        dispatched_event(out),
    ]
    if to:
        events.append(_life(TicketEscalated, "escalated", out, order, cmd.actor, now,
                            department=lead, escalated_to=to,
                            level=lifecycle_of(out).escalation_level,
                            reason=f"{lc.dissatisfied} dissatisfied revisits"))
    return out, events


def _urge_or_note(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: Lifecycle,
                  rule: Rule) -> tuple[WorkOrder, list[BaseModel]]:
    lc.notes.append({"at": now, "actor": cmd.actor, "kind": cmd.action, "text": cmd.reason})
    out = _move(order, lc, order.status, now, cmd.actor, cmd.role, cmd.action, cmd.reason)
    if cmd.action == "note":
        return out, []
    return out, [TicketUrged(event_id=_eid(out, "urged"), ticket_no=out.ticket_no,
                             occurred_at=now, intake_at=out.received_at,
                             department=lc.lead or "", urged_by=cmd.actor,
                             note=(cmd.reason or None) and (cmd.reason or "")[:200])]


_STEPS: dict[str, Step] = {
    "assign": _assign, "transfer": _assign, "reassign": _assign, "sign": _sign,
    "return": _return, "resume": _resume, "suspend": _suspend,
    "request_extension": _request_extension, "approve_extension": _decide_extension,
    "reject_extension": _decide_extension, "escalate": _escalate, "reply": _reply,
    "revisit": _revisit, "reopen": _reopen, "urge": _urge_or_note, "note": _urge_or_note,
}
