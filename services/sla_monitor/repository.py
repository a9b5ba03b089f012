"""SLA timers in Mongo: idempotent scheduling and atomic claiming of due timers.

A due timer is found by the indexed query (state, fire_at); each replica claims a timer with
a conditional update on its `_id`, so exactly one wins. A claim carries a lease: if the replica
dies before marking the timer fired, the lease runs out and another replica claims it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.sla_monitor.domain import Timer
from shared.store import DuplicateKey, Store, StoreUnavailable

__all__ = ["SlaTimerRepository"]

COLLECTION = "sla_timers"


class SlaTimerRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def schedule(self, timers: list[Timer]) -> list[Timer]:
        """Store timers; ones that exist already (redelivery) are left alone. Returns new ones."""
        created: list[Timer] = []
        for t in timers:
            try:
                await self._store.insert(COLLECTION, {
                    "_id": t.id, "ticket_no": t.ticket_no, "step": t.step, "kind": t.kind,
                    "fire_at": t.fire_at, "due_at": t.due_at, "department": t.department,
                    "intake_at": t.intake_at, "state": "pending",
                })
                created.append(t)
            except DuplicateKey:
                pass
        return created

    async def claim_due(self, now: datetime, owner: str, limit: int,
                        lease: timedelta) -> list[tuple[Timer, datetime]]:
        """Claim up to `limit` due timers (and ones whose lease expired) for `owner`."""
        coll = self._store.collection(COLLECTION)
        try:
            candidates = await coll.find(
                {"state": "pending", "fire_at": {"$lte": now}}
            ).sort("fire_at", 1).limit(limit).to_list(limit)
            candidates += await coll.find(
                {"state": "claimed", "fire_at": {"$lte": now}, "lease_until": {"$lte": now}}
            ).sort("fire_at", 1).limit(limit).to_list(limit)
        except Exception as exc:
            raise StoreUnavailable(str(exc)) from exc
        claimed: list[tuple[Timer, datetime]] = []
        for doc in candidates:
            condition: dict[str, Any] = {"state": doc["state"]}
            if doc["state"] == "claimed":
                condition["lease_until"] = doc["lease_until"]
            won = await self._store.replace_by_id(
                COLLECTION,
                doc | {"state": "claimed", "owner": owner, "lease_until": now + lease},
                condition=condition,
            )
            if won is not None:
                claimed.append((_timer(doc), doc["fire_at"]))
        return claimed

    async def open_deadlines(self, now: datetime, horizons: dict[str, timedelta]
                             ) -> dict[tuple[str, str], int]:
        return await count_open_deadlines(self._store, now, horizons)

    async def mark_fired(self, timer: Timer, owner: str, fired_at: datetime) -> None:
        """Only the owner's claim is marked; a lost lease leaves it to the new owner."""
        doc = await self._store.find_one(COLLECTION, {"_id": timer.id})
        if doc is not None:
            await self._store.replace_by_id(
                COLLECTION, doc | {"state": "fired", "fired_at": fired_at},
                condition={"state": "claimed", "owner": owner})


async def count_open_deadlines(store: Store, now: datetime,
                               horizons: dict[str, timedelta]) -> dict[tuple[str, str], int]:
    """Pending breach timers per (step, due_in bucket): indexed counts on (state, fire_at)."""
    coll = store.collection(COLLECTION)
    counts: dict[tuple[str, str], int] = {}
    try:
        for step in ("sign_for", "resolution"):
            flt: dict[str, Any] = {"state": "pending", "kind": "breach", "step": step}
            below = 0
            for label, horizon in horizons.items():
                upto = await coll.count_documents(flt | {"fire_at": {"$lte": now + horizon}})
                counts[(step, label)] = upto - below
                below = upto
            counts[(step, "later")] = await coll.count_documents(flt) - below
    except Exception as exc:
        raise StoreUnavailable(str(exc)) from exc
    return counts


def _timer(doc: dict[str, Any]) -> Timer:
    return Timer(ticket_no=doc["ticket_no"], step=doc["step"], kind=doc["kind"],
                 fire_at=doc["fire_at"], due_at=doc["due_at"], department=doc["department"],
                 intake_at=doc["intake_at"])
