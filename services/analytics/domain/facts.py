"""What an order counts for: one pure function from a work order to its statistical facts.

The analytics consumer and the rebuild command both call `order_facts`, so the maintained
aggregates and a recomputation from the orders agree by construction. Facts come from the
order's audit trail in order; the facts of a history entry depend only on that entry, the
entries before it and the classification, so the list only ever grows: the consumer counts
`facts[n:]` where `n` is how many it had counted for the order before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from suqiu.shared.contracts import WorkOrder
from suqiu.shared.sla import DeadlineBook

__all__ = ["BLANK", "COUNTERS", "SATISFACTION", "Dims", "Fact", "Limits", "dims_of", "order_facts"]

BLANK = "-"
SATISFACTION: dict[str, str] = {"非常满意": "sat_very", "满意": "sat_yes", "基本满意": "sat_basic",
                                "不满意": "sat_no"}
COUNTERS: tuple[str, ...] = (
    "received", "valid", "invalid", "dispatched", "signed", "signed_on_time", "replied",
    "replied_on_time", "resolved", "resolved_on_time", "extended", "returned", "transferred",
    "reopened", *SATISFACTION.values(), "repeat",
)
_DISPATCH_ACTIONS = frozenset({"dispatch", "assign", "transfer", "reassign", "redispatch", "reopen"})
_TARGET = re.compile(r"^-> (\S+)")


@dataclass(frozen=True)
class Dims:
    """The dimensions of an aggregate; BLANK where the order has no value."""

    category: str = BLANK
    subcategory: str = BLANK
    department: str = BLANK
    district: str = BLANK
    street: str = BLANK
    channel: str = BLANK
    severity: str = BLANK


@dataclass(frozen=True)
class Fact:
    """`counter` + 1 on local day `day` (YYYY-MM-DD) for `dims`; `ticket_no` is a sample."""

    day: str
    dims: Dims
    counter: str
    ticket_no: str


@dataclass(frozen=True)
class Limits:
    """The one deadline computation (shared.sla) and the local time zone of the days.

    "On time" compares an action with the deadline the order had just before it: the
    deadline shared.sla computes from the order's history up to that entry (the same
    replay that stamped the order then), so suspensions, extensions and working time
    count exactly as they did for the department."""

    book: DeadlineBook
    tz: ZoneInfo

    def due(self, order: WorkOrder, upto: int, step: str) -> datetime | None:
        """`step`'s deadline as stored after history entry `upto - 1`."""
        before = order.model_copy(update={"history": order.history[:upto]})
        return self.book.compute(before).due(step)


def _clean(value: str | None) -> str:
    return value.replace("|", "/").strip() or BLANK if value else BLANK


def dims_of(order: WorkOrder, department: str | None = None) -> Dims:
    """The order's static dimensions, with `department` (else the classifier's)."""
    c = order.classification
    if c is None:
        return Dims(department=_clean(department), channel=order.channel.value)
    return Dims(category=_clean(c.category), subcategory=_clean(c.subcategory),
                department=_clean(department or c.department), district=_clean(c.region.district),
                street=_clean(c.region.street), channel=order.channel.value,
                severity=c.severity.value)


def order_facts(order: WorkOrder, limits: Limits) -> list[Fact]:
    """Every fact of the order's audit trail, oldest first (see the module docstring)."""
    out: list[Fact] = []
    lead: str | None = None
    last_reply_on_time: bool | None = None

    def add(at: datetime, counter: str, dept: str | None) -> None:
        day = at.astimezone(limits.tz).date().isoformat()
        out.append(Fact(day, dims_of(order, dept), counter, order.ticket_no))

    for i, e in enumerate(order.history):
        action, at = e.action, e.at
        if action == "receive":
            add(at, "received", None)
            if e.to_status.value == "invalid":
                add(at, "invalid", None)
        elif action == "classify":
            add(at, "valid", None)
        elif action in _DISPATCH_ACTIONS:
            previous = lead
            m = _TARGET.match(e.note or "")
            lead = m.group(1) if m else lead
            last_reply_on_time = None
            if action in ("transfer", "reassign") and previous:
                add(at, "transferred", previous)
            if action == "reopen":
                add(at, "reopened", lead)
                if "不满意" in (e.note or ""):
                    add(at, "sat_no", lead)
            add(at, "dispatched", lead)
        elif action == "sign":
            add(at, "signed", lead)
            sign_due = limits.due(order, i, "sign_for")
            if sign_due is not None and at <= sign_due:
                add(at, "signed_on_time", lead)
        elif action == "return":
            add(at, "returned", e.note or lead)
        elif action == "approve_extension":
            add(at, "extended", lead)
        elif action == "reply":
            add(at, "replied", lead)
            res_due = limits.due(order, i, "resolution")
            last_reply_on_time = res_due is not None and at <= res_due
            if last_reply_on_time:
                add(at, "replied_on_time", lead)
        if e.to_status.value == "closed" and action in ("revisit", "close"):
            if action == "revisit" and e.note in SATISFACTION:
                add(at, SATISFACTION[e.note], lead)
            add(at, "resolved", lead)
            if last_reply_on_time is not None:
                on_time = last_reply_on_time
            else:
                res_due = limits.due(order, i, "resolution")
                on_time = res_due is not None and at <= res_due
            if on_time:
                add(at, "resolved_on_time", lead)
    return out

