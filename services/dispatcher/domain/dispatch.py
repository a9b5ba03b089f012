"""The first dispatch of a classified order: a routing rule, else the classifier's choice,
else the triage desk."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from suqiu.services.dispatcher.domain.orders import dispatch_to, dispatched_event, move, triage_event
from suqiu.services.dispatcher.domain.rules import Policy, Refused, lifecycle_of
from suqiu.services.dispatcher.routing import Route, RoutingRules, resolve
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import TicketStatus, WorkOrder

__all__ = ["dispatch", "dispatch_with_events", "route", "route_order"]


def route(order: WorkOrder, catalogue: Catalogue, rules: RoutingRules | None = None) -> str:
    """The lead department: a routing rule, else the classifier's choice, else triage."""
    return resolve(order, rules or RoutingRules(), catalogue).lead


def route_order(order: WorkOrder, route: Route, policy: Policy, now: datetime,
                *, actor: str = "dispatcher", role: str = "system") -> tuple[WorkOrder, list[BaseModel]]:
    """classified -> dispatched (or -> triage): the first dispatch of an order."""
    if order.status is not TicketStatus.CLASSIFIED or order.classification is None:
        raise Refused("illegal_state", f"cannot dispatch a ticket in status {order.status}")
    lc = lifecycle_of(order)
    if route.triage:
        lc.candidates = list(route.candidates)
        out = policy.stamp(move(order, lc, TicketStatus.TRIAGE, now, actor, role, "triage",
                                None, note=f"rule {route.rule}"))
        return out, [triage_event(out, now)]
    lc.candidates = [c for c in route.candidates if c != route.lead]
    out = dispatch_to(order, lc, route.lead, list(route.co), policy, now, actor, role,
                      "dispatch", None)
    return out, [dispatched_event(out)]


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
