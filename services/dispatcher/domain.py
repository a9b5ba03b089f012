"""Pure dispatch rules: who gets the order, with which deadlines."""

from __future__ import annotations

from datetime import datetime

from shared.catalogue import Catalogue
from shared.contracts import Dispatch, HistoryEntry, TicketDispatched, TicketStatus, WorkOrder
from shared.sla import deadlines_for

__all__ = ["dispatch", "dispatched_event", "route"]


def route(order: WorkOrder, catalogue: Catalogue) -> str:
    """The lead department: the classifier's choice when the catalogue knows it, else triage."""
    c = order.classification
    if c is None:
        raise ValueError("cannot route an unclassified order")
    known = {d.id for d in catalogue.departments}
    return c.department if c.department in known else catalogue.triage_department


def dispatch(order: WorkOrder, catalogue: Catalogue, now: datetime) -> WorkOrder:
    """classified -> dispatched: assign the department and stamp the SLA deadlines."""
    if order.status is not TicketStatus.CLASSIFIED or order.classification is None:
        raise ValueError(f"cannot dispatch a ticket in status {order.status}")
    dept = catalogue.department(route(order, catalogue))
    sla = deadlines_for(order.classification.severity, now, catalogue.sla)
    entry = HistoryEntry(at=now, actor="dispatcher", action="dispatch",
                         from_status=order.status, to_status=TicketStatus.DISPATCHED,
                         note=f"-> {dept.id}")
    return order.model_copy(update={
        "status": TicketStatus.DISPATCHED,
        "dispatch": Dispatch(department=dept.id, department_name=dept.name, dispatched_at=now),
        "sla": sla,
        "updated_at": now,
        "version": order.version + 1,
        "history": [*order.history, entry],
    })


def dispatched_event(order: WorkOrder) -> TicketDispatched:
    d, s, c = order.dispatch, order.sla, order.classification
    assert d is not None and s is not None and c is not None
    return TicketDispatched(
        event_id=f"{order.ticket_no}:dispatched",
        ticket_no=order.ticket_no,
        occurred_at=d.dispatched_at,
        intake_at=order.received_at,
        department=d.department,
        severity=c.severity,
        sign_for_due=s.sign_for_due,
        resolution_due=s.resolution_due,
    )
