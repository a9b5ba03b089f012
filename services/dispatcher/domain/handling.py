"""Steps of the handling phase: assign / transfer, sign, return, suspend / resume, extension."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from suqiu.services.dispatcher.domain.orders import (
    dispatch_to,
    dispatched_event,
    event_id,
    lifecycle_event,
    move,
)
from suqiu.services.dispatcher.domain.rules import Policy, Refused, Rule, lifecycle_of
from suqiu.shared.contracts import (
    Command,
    LifecycleState,
    TicketClosed,
    TicketExtensionApproved,
    TicketExtensionRequested,
    TicketResumed,
    TicketReturned,
    TicketSigned,
    TicketStatus,
    TicketSuspended,
    TicketTransferred,
    TrainingLabel,
    WorkOrder,
)

__all__ = ["Outcome", "Step", "assign", "decide_extension", "request_extension", "resume",
           "return_order", "sign", "simple", "suspend"]

S = TicketStatus
Outcome = tuple[WorkOrder, list[BaseModel]]


class Step(Protocol):
    """One command's own rules: the moved order and its events, or `Refused`."""

    def __call__(self, order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                 lc: LifecycleState, rule: Rule) -> Outcome: ...


def simple(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
           rule: Rule) -> Outcome:
    """A move to the table's target state (start, feedback, close, archive, suspend)."""
    assert rule.target is not None
    out = move(order, lc, rule.target, now, cmd.actor, cmd.role, cmd.action, cmd.reason)
    dept = lc.lead or ""
    events: list[BaseModel] = []
    if cmd.action == "suspend":
        events.append(lifecycle_event(TicketSuspended, "suspended", out, order, cmd.actor, now,
                                      department=dept, reason=cmd.reason or ""))
    elif cmd.action == "close":
        events.append(lifecycle_event(TicketClosed, "closed", out, order, cmd.actor, now))
    return out, events


def assign(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
           rule: Rule) -> Outcome:
    if not cmd.target:
        raise Refused("target_required", f"{cmd.action} needs a target department")
    prev = lc.lead
    out = dispatch_to(order, lc, cmd.target, cmd.co, policy, now, cmd.actor, cmd.role,
                      cmd.action, cmd.reason)
    events: list[BaseModel] = [dispatched_event(out)]
    if cmd.action in {"transfer", "reassign"} and prev:
        events.insert(0, lifecycle_event(TicketTransferred, "transferred", out, order, cmd.actor,
                                         now, from_department=prev, department=cmd.target,
                                         reason=cmd.reason))
        if cmd.action == "transfer":
            out = label(out, prev, cmd.target, cmd.reason, now)
    return out, events


def label(order: WorkOrder, wrong: str, right: str | None, reason: str | None,
          now: datetime) -> WorkOrder:
    """A department correction, kept as a training label for the classifier."""
    lc = lifecycle_of(order)
    c = order.classification
    lc.labels.append(TrainingLabel(at=now, predicted=c.department if c else None, wrong=wrong,
                                   right=right, category=c.category if c else None,
                                   reason=reason))
    return order.model_copy(update={"lifecycle": lc})


def sign(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
         rule: Rule) -> Outcome:
    dept = cmd.department or ""
    if dept in lc.signed:
        raise Refused("already_signed", f"{dept} has signed already")
    lead = dept == lc.lead
    if lead and order.status is not S.DISPATCHED:
        raise Refused("illegal_state", f"cannot sign in status {order.status.value}")
    lc.signed[dept] = now
    to = S.SIGNED if lead else order.status
    out = move(order, lc, to, now, cmd.actor, cmd.role, "sign" if lead else "co_sign",
               cmd.reason, note=dept)
    return out, [lifecycle_event(TicketSigned, "signed" if lead else f"signed.{dept}", out,
                                 order, cmd.actor, now, department=dept)]


def return_order(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                 lc: LifecycleState, rule: Rule) -> Outcome:
    dept = cmd.department or ""
    lc.returned_by.append(dept)
    nxt = next((c for c in lc.candidates if c not in lc.returned_by), None)
    returned = move(order, lc, S.TRIAGE, now, cmd.actor, cmd.role, "return", cmd.reason,
                    note=dept)
    returned = label(returned, dept, nxt, cmd.reason, now)
    events: list[BaseModel] = [lifecycle_event(TicketReturned, "returned", returned, order,
                                               cmd.actor, now, department=dept,
                                               reason=cmd.reason or "")]
    if nxt is None:  # every candidate returned it: the triage queue, for an operator
        return returned, events
    lc2 = lifecycle_of(returned)
    out = dispatch_to(returned, lc2, nxt, list(lc2.co), policy, now, "dispatcher", "system",
                      "redispatch", None)
    return out, [*events, dispatched_event(out)]


def resume(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
           rule: Rule) -> Outcome:
    to = lc.resume_to or S.IN_PROGRESS
    lc.resume_to = None
    out = move(order, lc, to, now, cmd.actor, cmd.role, "resume", cmd.reason)
    return out, [lifecycle_event(TicketResumed, "resumed", out, order, cmd.actor, now,
                                 department=lc.lead or "")]


def suspend(order: WorkOrder, cmd: Command, now: datetime, policy: Policy, lc: LifecycleState,
            rule: Rule) -> Outcome:
    lc.resume_to = order.status
    return simple(order, cmd, now, policy, lc, rule)


def request_extension(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                      lc: LifecycleState, rule: Rule) -> Outcome:
    running = order.sla.resolution_due if order.sla else None
    if cmd.new_due is None or (running is not None and cmd.new_due <= running):
        raise Refused("new_due_required", "an extension needs a later resolution deadline")
    lc.extension_due = cmd.new_due
    out = move(order, lc, S.EXTENSION_REQUESTED, now, cmd.actor, cmd.role, cmd.action,
               cmd.reason, note=cmd.new_due.isoformat())
    return out, [lifecycle_event(TicketExtensionRequested, "extension_requested", out, order,
                                 cmd.actor, now, department=lc.lead or "",
                                 requested_resolution_due=cmd.new_due, reason=cmd.reason or "")]


def decide_extension(order: WorkOrder, cmd: Command, now: datetime, policy: Policy,
                     lc: LifecycleState, rule: Rule) -> Outcome:
    due = lc.extension_due
    lc.extension_due = None
    if cmd.action == "reject_extension" or due is None or order.sla is None:
        return move(order, lc, S.IN_PROGRESS, now, cmd.actor, cmd.role, cmd.action,
                    cmd.reason), []
    # The approved deadline is derived by shared.sla from this history note: keep it ISO.
    out = move(order, lc, S.IN_PROGRESS, now, cmd.actor, cmd.role, cmd.action, cmd.reason,
               note=due.isoformat())
    return out, [TicketExtensionApproved(
        event_id=event_id(out, "extension_approved"), ticket_no=out.ticket_no, occurred_at=now,
        intake_at=out.received_at, department=lc.lead or "", new_resolution_due=due,
        reason=cmd.reason)]
