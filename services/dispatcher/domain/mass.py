"""Mass incidents (群体性诉求): merging a cluster's orders under its master order."""

from __future__ import annotations

from datetime import datetime

from suqiu.services.dispatcher.domain.rules import lifecycle_of
from suqiu.shared.contracts import HistoryEntry, LifecycleState, WorkOrder

__all__ = ["join_master", "record_members"]


def _merged(order: WorkOrder, lc: LifecycleState, now: datetime, note: str) -> WorkOrder:
    entry = HistoryEntry(at=now, actor="dispatcher", role="system", action="merge",
                         from_status=order.status, to_status=order.status, note=note)
    return order.model_copy(update={"lifecycle": lc, "version": order.version + 1,
                                    "updated_at": now, "history": [*order.history, entry]})


def join_master(order: WorkOrder, master: str, now: datetime) -> WorkOrder | None:
    """The member order merged under `master`; None when it is already."""
    lc = lifecycle_of(order)
    if lc.master == master:
        return None
    lc.master = master
    return _merged(order, lc, now, f"merged under {master}")


def record_members(order: WorkOrder, members: list[str], now: datetime) -> WorkOrder | None:
    """The master order holding `members` too; None when it holds them all already."""
    lc = lifecycle_of(order)
    merged = list(dict.fromkeys([*lc.members, *members]))
    if merged == lc.members:
        return None
    new = [m for m in merged if m not in lc.members and m != order.ticket_no]
    lc.members = merged
    return _merged(order, lc, now, f"master of {len(merged)} orders; new: {', '.join(new)}"[:500])
