"""Moving an order: the audit line, the version, the dispatch with its deadlines; and the ids
and shapes of the events a move causes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from suqiu.services.dispatcher.domain.rules import Policy, Refused, lifecycle_of
from suqiu.shared.contracts import (
    Dispatch,
    HistoryEntry,
    LifecycleState,
    TicketDispatched,
    TicketStatus,
    TicketTriageRequired,
    WorkOrder,
)

__all__ = ["dispatch_to", "dispatched_event", "event_id", "lifecycle_event", "move",
           "triage_event"]


def move(order: WorkOrder, lc: LifecycleState, to: TicketStatus, now: datetime, actor: str,
         role: str, action: str, reason: str | None, *, note: str | None = None) -> WorkOrder:
    """The order in state `to` with `lc`, one audit line more and the next version."""
    entry = HistoryEntry(at=now, actor=actor, role=role, action=action, from_status=order.status,
                         to_status=to, reason=reason, note=note)
    return order.model_copy(update={
        "status": to,
        "updated_at": now,
        "version": order.version + 1,
        "history": [*order.history, entry],
        "lifecycle": lc.model_copy(deep=True),
    })


def dispatch_to(order: WorkOrder, lc: LifecycleState, dept: str, co: list[str], policy: Policy,
                now: datetime, actor: str, role: str, action: str, reason: str | None,
                *, extra_note: str | None = None) -> WorkOrder:
    """(Re-)dispatch to `dept` with co-handlers `co`: a new round, new deadlines (stamped by
    the one SLA module, shared.sla, from the order's history)."""
    cat = policy.catalogue
    try:
        d = cat.department(dept)
    except KeyError as exc:
        raise Refused("unknown_department", f"no department {dept!r}") from exc
    unknown = [c for c in co if c not in {x.id for x in cat.departments}]
    if unknown:
        raise Refused("unknown_department", f"no department {unknown[0]!r}")
    lc.lead, lc.co = dept, [c for c in co if c != dept]
    lc.departments = list(dict.fromkeys([*lc.departments, dept, *lc.co]))
    lc.signed, lc.replies, lc.extension_due, lc.resume_to = {}, {}, None, None
    lc.dispatch_round += 1
    base = order.model_copy(update={
        "dispatch": Dispatch(department=d.id, department_name=d.name, co_departments=lc.co,
                             dispatched_at=now),
    })
    return policy.stamp(move(base, lc, TicketStatus.DISPATCHED, now, actor, role, action,
                             reason, note=extra_note or f"-> {d.id}"))


def event_id(order: WorkOrder, kind: str) -> str:
    return f"{order.ticket_no}:{kind}:{order.version}"


def dispatched_event(order: WorkOrder) -> TicketDispatched:
    """ticket.dispatched; the first dispatch keeps the id `<no>:dispatched`, later ones add the version."""
    d, s, c = order.dispatch, order.sla, order.classification
    assert d is not None and s is not None and c is not None
    first = lifecycle_of(order).dispatch_round <= 1
    return TicketDispatched(
        event_id=f"{order.ticket_no}:dispatched" if first else event_id(order, "dispatched"),
        ticket_no=order.ticket_no, occurred_at=d.dispatched_at, intake_at=order.received_at,
        department=d.department, severity=c.severity, sign_for_due=s.required("sign_for"),
        resolution_due=s.required("resolution"),
    )


def triage_event(order: WorkOrder, now: datetime) -> TicketTriageRequired:
    c = order.classification
    assert c is not None
    return TicketTriageRequired(
        event_id=event_id(order, "triage_required"), ticket_no=order.ticket_no, occurred_at=now,
        intake_at=order.received_at, category=c.category, department=c.department,
        confidence=c.confidence, threshold=0.0,
        candidates=lifecycle_of(order).candidates[:3])


def lifecycle_event(cls: type[BaseModel], kind: str, order: WorkOrder, before: WorkOrder,
                    actor: str, now: datetime, **kw: Any) -> BaseModel:
    """A `_LifecycleEvent` of the move `before` -> `order`."""
    return cls(event_id=event_id(order, kind), ticket_no=order.ticket_no, occurred_at=now,
               intake_at=order.received_at, version=order.version, actor=actor,
               from_status=before.status.value, to_status=order.status.value, **kw)
