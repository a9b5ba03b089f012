"""The department inbox as precomputed keys: one small entry per (department, order).

nx-27017 serves only `_id`, equality on one indexed field, or a range on one indexed field with
sort and limit. "The orders a department leads or assists, by soonest resolution deadline"
is therefore one entry per department and order (`_id = "<dept>|<ticket_no>"`) with two keys:

- `open_due = "<dept>|<resolution due>"` while the order is open (the default inbox);
- `status_due = "<dept>|<status>|<resolution due>"` (the inbox filtered by status).

The department `*` stands for every department (supervisors and operators listing all). A
department the order left (return, transfer, reassignment) keeps its entry without keys, so
it drops out of every range. Each entry carries the order's version: an older write never
overwrites a newer one. Pure: the repository writes them with the order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from suqiu.services.dispatcher.domain.rules import lifecycle_of
from suqiu.shared.contracts import TicketStatus, WorkOrder
from suqiu.shared.keys import at_key

__all__ = ["ALL", "CLOSED", "current_departments", "due_prefix", "inbox_entries"]

ALL = "*"
CLOSED = frozenset({TicketStatus.CLOSED, TicketStatus.ARCHIVED})
_NO_DUE = "9999-12-31T23:59:59.999999"  # no deadline: listed last (inside shared.keys ranges)


def current_departments(order: WorkOrder) -> list[str]:
    """The departments the order belongs to now: its lead and assisting departments."""
    lc = lifecycle_of(order)
    own = [lc.lead, *lc.co]
    if order.dispatch is not None:
        own += [order.dispatch.department, *order.dispatch.co_departments]
    return [d for d in dict.fromkeys(own) if d]


def due_prefix(department: str | None, status: str | None) -> str:
    """The key prefix a listing walks: the department (or `*`), then the status if asked."""
    dept = department or ALL
    return f"{dept}|{status}" if status else dept


def _key(prefix: str, due: datetime | None) -> str:
    return at_key(prefix, due) if due is not None else f"{prefix}|{_NO_DUE}"


def inbox_entries(order: WorkOrder) -> list[dict[str, Any]]:
    """The inbox entries of the order as it is now (written after every write of the order)."""
    due = order.sla.resolution_due if order.sla else None
    current = current_departments(order)
    out: list[dict[str, Any]] = []
    for dept in [ALL, *current]:
        entry: dict[str, Any] = {
            "_id": f"{dept}|{order.ticket_no}", "ticket_no": order.ticket_no,
            "department": dept, "version": order.version,
            "status_due": _key(due_prefix(dept, order.status.value), due)}
        if order.status not in CLOSED:
            entry["open_due"] = _key(dept, due)
        out.append(entry)
    for dept in lifecycle_of(order).departments:
        if dept not in current:  # left: no keys, out of every listing
            out.append({"_id": f"{dept}|{order.ticket_no}", "ticket_no": order.ticket_no,
                        "department": dept, "version": order.version})
    return out
