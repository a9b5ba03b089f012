"""Steps of the closing phase: escalate, reply, revisit, reopen; and supervisors' urges."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from suqiu.services.dispatcher.domain.handling import Outcome
from suqiu.services.dispatcher.domain.orders import (
    dispatch_to,
    dispatched_event,
    event_id,
    lifecycle_event,
    move,
)
from suqiu.services.dispatcher.domain.rules import SATISFIED, Policy, Refused, Rule, lifecycle_of
from suqiu.shared.contracts import (
    Command,
    LifecycleState,
    SupervisionNote,
    TicketClosed,
    TicketEscalated,
    TicketReopened,
    TicketReplied,
    TicketRevisitRequested,
    TicketStatus,
    TicketUrged,
    WorkOrder,
)

__all__ = ["escalate", "reopen", "reply", "revisit", "urge_or_note"]

S = TicketStatus


def next_rung(lc: LifecycleState, policy: Policy) -> str:
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


def escalate(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
             rule: Rule) -> Outcome:
    to = next_rung(lc, policy)
    lc.escalated_to = to
    out = move(order, lc, order.status, now, cmd.actor, cmd.role, "escalate", cmd.reason,
               note=f"level {lc.escalation_level} -> {to}")
    return out, [lifecycle_event(TicketEscalated, "escalated", out, order, cmd.actor, now,
                                 department=lc.lead or "", escalated_to=to,
                                 level=lc.escalation_level, reason=cmd.reason)]


def reply(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
          rule: Rule) -> Outcome:
    dept = cmd.department or ""
    if not cmd.summary:
        raise Refused("summary_required", "a reply needs a summary")
    if dept in lc.replies:
        raise Refused("already_replied", f"{dept} has replied already")
    if dept not in lc.signed:
        raise Refused("not_signed", f"{dept} must sign before replying")
    if dept != lc.lead:  # an assisting department's reply: recorded, the order waits for the lead
        lc.replies[dept] = cmd.summary
        out = move(order, lc, order.status, now, cmd.actor, cmd.role, "co_reply", cmd.reason,
                   note=dept)
        return out, []
    pending = [c for c in lc.co if c not in lc.replies]
    if pending and not (cmd.override and cmd.reason):
        raise Refused("assisting_replies_pending",
                      f"waiting for {', '.join(pending)} (or override with a reason)")
    lc.replies[dept] = cmd.summary
    lc.revisit_due = now + timedelta(days=policy.revisit_days)
    out = move(order, lc, S.REPLIED, now, cmd.actor, cmd.role, "reply", cmd.reason,
               note="override" if pending else None)
    return out, [
        TicketReplied(event_id=event_id(out, "replied"), ticket_no=out.ticket_no,
                      occurred_at=now, intake_at=out.received_at, department=dept,
                      summary=cmd.summary),
        TicketRevisitRequested(event_id=event_id(out, "revisit_requested"),
                               ticket_no=out.ticket_no, occurred_at=now,
                               intake_at=out.received_at, answer_by=lc.revisit_due),
    ]


def revisit(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
            rule: Rule) -> Outcome:
    if cmd.satisfaction is None:
        raise Refused("satisfaction_required", "a revisit needs the satisfaction answer")
    lc.satisfaction = cmd.satisfaction
    if cmd.satisfaction in SATISFIED:
        out = move(order, lc, S.CLOSED, now, cmd.actor, cmd.role, "revisit", cmd.reason,
                   note=cmd.satisfaction)
        return out, [lifecycle_event(TicketClosed, "closed", out, order, cmd.actor, now,
                                     satisfaction=cmd.satisfaction)]
    lc.dissatisfied += 1
    return _reopen_and_dispatch(order, cmd, now, policy, lc, note=cmd.satisfaction)


def reopen(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
           rule: Rule) -> Outcome:
    return _reopen_and_dispatch(order, cmd, now, policy, lc, note=None)


def _reopen_and_dispatch(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                         lc: LifecycleState, *, note: str | None) -> Outcome:
    """Dispatched again to the same lead; the `max_dissatisfied`-th dissatisfied revisit
    also escalates the order one rung (ticket.escalated)."""
    lc.reopen_round += 1
    lead = lc.lead or policy.catalogue.triage_department
    escalate_now = lc.dissatisfied >= policy.max_dissatisfied and note is not None
    to = next_rung(lc, policy) if escalate_now else None
    if to:
        lc.escalated_to = to
    out = dispatch_to(order, lc, lead, list(lc.co), policy, now, cmd.actor, cmd.role,
                      "reopen", cmd.reason, extra_note=f"round {lc.reopen_round}"
                      + (f", {note}" if note else ""))
    events: list[BaseModel] = [
        lifecycle_event(TicketReopened, "reopened", out, order, cmd.actor, now,
                        round=lc.reopen_round, reason=cmd.reason or note),
        dispatched_event(out),
    ]
    if to:
        events.append(lifecycle_event(TicketEscalated, "escalated", out, order, cmd.actor, now,
                                      department=lead, escalated_to=to,
                                      level=lifecycle_of(out).escalation_level,
                                      reason=f"{lc.dissatisfied} dissatisfied revisits"))
    return out, events


def urge_or_note(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                 lc: LifecycleState, rule: Rule) -> Outcome:
    lc.notes.append(SupervisionNote(at=now, actor=cmd.actor, kind=cmd.action, text=cmd.reason))
    out = move(order, lc, order.status, now, cmd.actor, cmd.role, cmd.action, cmd.reason)
    if cmd.action == "note":
        return out, []
    return out, [TicketUrged(event_id=event_id(out, "urged"), ticket_no=out.ticket_no,
                             occurred_at=now, intake_at=out.received_at,
                             department=lc.lead or "", urged_by=cmd.actor,
                             note=(cmd.reason or None) and (cmd.reason or "")[:200])]
