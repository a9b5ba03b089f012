"""Pure dispatch rules: who gets the order, with which deadlines (first dispatch).

The rest of the work-order lifecycle is the state machine in `lifecycle.py`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.dispatcher.lifecycle import Policy, dispatched_event, route_order
from services.dispatcher.routing import RoutingRules, resolve
from shared.catalogue import Catalogue
from shared.contracts import TicketStatus, WorkOrder

__all__ = ["dispatch", "dispatch_with_events", "dispatched_event", "route"]


def route(order: WorkOrder, catalogue: Catalogue, rules: RoutingRules | None = None) -> str:
    """The lead department: a routing rule, else the classifier's choice, else triage."""
    return resolve(order, rules or RoutingRules(), catalogue).lead


def dispatch_with_events(order: WorkOrder, catalogue: Catalogue, now: datetime,
                         rules: RoutingRules | None = None,
                         policy: Policy | None = None) -> tuple[WorkOrder, list[BaseModel]]:
    """classified -> dispatched (or triage), with the events to publish."""
    if order.status is not TicketStatus.CLASSIFIED or order.classification is None:
        raise ValueError(f"cannot dispatch a ticket in status {order.status}")
    r = resolve(order, rules or RoutingRules(), catalogue)
    return route_order(order, r, policy or Policy(catalogue), now)


def dispatch(order: WorkOrder, catalogue: Catalogue, now: datetime,
             rules: RoutingRules | None = None) -> WorkOrder:
    """classified -> dispatched: assign the department and stamp the SLA deadlines."""
    return dispatch_with_events(order, catalogue, now, rules)[0]
