"""SLA timers in Mongo: one document per (order, step), written in one batch, claimed atomically.

`sla_timers` holds, per running announced step of an order, the stored deadline and the next
moment of its ladder (`fire_at`). A lifecycle change writes only the documents whose deadline
changed, in one bulk_write command. Due timers are found by walking the `fire_at` index in
order with a limit; a replica claims one with a conditional replace on its `_id` (exactly one
wins) and a lease: a replica that dies mid-announcement leaves the timer to be claimed again
after the lease, and the announcement repeats with the same event id (consumers deduplicate).
The open-deadlines gauge walks the `due_at` index over a bounded window (no count_documents).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from pymongo import DeleteOne, ReplaceOne

from suqiu.services.sla_monitor.domain import TIME_KEY, StepTimer
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.keys import at_key, key_range
from suqiu.shared.store import Store, VersionConflict

__all__ = ["SlaTimerRepository"]

COLLECTION = "sla_timers"
_STEPS_CAP = 64  # an order has one timer per running step (seven steps at most)


class SlaTimerRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _coll(self) -> Any:
        return self._store.collection(COLLECTION)

    # --- orders (the stored deadlines are the truth) ---------------------------------
    async def order(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no)

    async def save_order(self, order: WorkOrder, *, expected_version: int) -> bool:
        """Conditional whole-document write by `_id`; False if the order moved on."""
        try:
            await self._store.save_ticket(order, expected_version=expected_version)
        except VersionConflict:
            return False
        return True

    # --- timers ----------------------------------------------------------------------
    async def timers_of(self, ticket_no: str) -> dict[str, StepTimer]:
        """The order's timers by step (equality on the indexed `ticket_no`)."""
        docs = await self._store.find(COLLECTION, {"ticket_no": ticket_no}, limit=_STEPS_CAP)
        return {d["step"]: StepTimer.from_doc(d) for d in docs}

    async def write(self, timers: list[StepTimer], deletes: list[str]) -> None:
        """Every change of one order's timers in ONE command (by `_id`)."""
        ops: list[Any] = [ReplaceOne({"_id": t.id}, t.to_doc(), upsert=True) for t in timers]
        ops += [DeleteOne({"_id": i}) for i in deletes]
        if not ops:
            return
        async with self._store.op():
            await self._coll().bulk_write(ops, ordered=False)

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` timers due at `now` (and ones whose lease expired), in random order.

        The earliest timers are read by walking the `fire_key` index (`fire_at` as a string
        key: a range on one indexed field with sort and limit); a timer whose ladder is
        done is deleted, so the head of the index is what is due next. The window is four
        claim batches wide, so timers other replicas hold do not hide the due ones; the
        shuffle makes replicas mostly try different ones first.
        """
        head = await self._store.find(COLLECTION, {"fire_key": key_range(TIME_KEY, None, now)},
                                      sort=[("fire_key", 1)], limit=limit * 4)
        candidates = [d for d in head if d["state"] == "pending" or (
            d["state"] == "claimed" and d.get("lease_until") and d["lease_until"] <= now)]
        random.shuffle(candidates)
        return candidates[:limit]

    async def claim(self, doc: dict[str, Any], owner: str, now: datetime,
                    lease: timedelta) -> tuple[dict[str, Any], bool] | None:
        """Claim one due timer: a conditional replace on `_id`, so exactly one replica wins.

        Returns (claimed document, retried after a lost lease), or None if another won.
        """
        condition: dict[str, Any] = {"state": doc["state"]}
        if doc["state"] == "claimed":
            condition["lease_until"] = doc["lease_until"]
        new = doc | {"state": "claimed", "owner": owner, "lease_until": now + lease,
                     "claims": int(doc.get("claims", 0)) + 1}
        if await self._store.replace_by_id(COLLECTION, new, condition=condition):
            return new, doc["state"] == "claimed"
        return None

    async def release(self, timer: StepTimer, owner: str) -> bool:
        """The owner's claim ends: the timer waits for its next moment, or is removed."""
        condition = {"state": "claimed", "owner": owner}
        if timer.fire_at is not None:
            return await self._store.replace_by_id(COLLECTION, timer.to_doc(),
                                                   condition=condition) is not None
        async with self._store.op():
            res = await self._coll().delete_one({"_id": timer.id} | condition)
        return bool(res.deleted_count)

    async def upcoming(self, now: datetime, horizon: timedelta, cap: int) -> list[dict[str, Any]]:
        """Deadlines due within `horizon`, earliest first, at most `cap` (the `due_at` index)."""
        return await self._store.find(
            COLLECTION, {"due_key": {"$gt": at_key(TIME_KEY, now),
                                     "$lte": at_key(TIME_KEY, now + horizon)}},
            sort=[("due_key", 1)], limit=cap, projection={"step": 1, "due_at": 1})
