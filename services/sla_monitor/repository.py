"""SLA clocks and timers in Mongo: idempotent scheduling, atomic claiming, supersession.

`sla_clocks` holds one document per order: the policy facts, the lifecycle log the monitor
has seen and the current generation; it is written whole with a conditional replace on the
generation (nx-27017 keeps datetimes only through inserts and replaces).

`sla_timers` holds the live timers; fired and superseded ones move to `sla_timer_log`. Due
timers are found by walking the `fire_at` index in order with a limit; a replica claims one
with a conditional replace on its `_id`, so exactly one wins. A claim carries a lease: if the
replica dies before logging the timer, the lease runs out and another replica claims it again
and, if it finds it in the log already, only removes it (the event id is the timer id, so a
re-publication in that last window is deduplicated by consumers).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from services.sla_monitor.domain import Facts, LogEntry, Timer
from shared.store import DuplicateKey, Store, StoreUnavailable

__all__ = ["ClockDoc", "SlaTimerRepository", "count_open_deadlines", "timer_doc"]

COLLECTION = "sla_timers"
LOG = "sla_timer_log"
CLOCKS = "sla_clocks"
ClockDoc = dict[str, Any]


def timer_doc(t: Timer) -> dict[str, Any]:
    return {"_id": t.id, "ticket_no": t.ticket_no, "step": t.step, "kind": t.kind,
            "fire_at": t.fire_at, "due_at": t.due_at, "department": t.department,
            "intake_at": t.intake_at, "generation": t.generation, "severity": t.severity,
            "escalated_to": t.escalated_to, "state": "pending"}


class SlaTimerRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- clocks ----------------------------------------------------------------------
    async def load_clock(self, ticket_no: str) -> ClockDoc | None:
        return await self._store.find_one(CLOCKS, {"_id": ticket_no})

    async def create_clock(self, facts: Facts, log: list[LogEntry]) -> bool:
        doc = {"_id": facts.ticket_no, "facts": facts.__dict__ | {}, "generation": 1,
               "log": [e.to_doc() for e in log]}
        try:
            await self._store.insert(CLOCKS, doc)
        except DuplicateKey:
            return False
        return True

    async def save_clock(self, doc: ClockDoc, *, expected_generation: int) -> bool:
        saved = await self._store.replace_by_id(
            CLOCKS, doc, condition={"generation": expected_generation})
        return saved is not None

    # --- timers ----------------------------------------------------------------------
    async def schedule(self, timers: list[Timer]) -> list[Timer]:
        """Store timers; ones that exist already (redelivery) are left alone. Returns new ones."""
        created: list[Timer] = []
        for t in timers:
            try:
                await self._store.insert(COLLECTION, timer_doc(t))
                created.append(t)
            except DuplicateKey:
                pass
        return created

    async def supersede(self, ticket_no: str, generation: int) -> int:
        """Mark the order's pending timers of older generations superseded (indexed by ticket)."""
        coll = self._store.collection(COLLECTION)
        try:
            docs = await coll.find({"ticket_no": ticket_no}).to_list(None)
        except Exception as exc:
            raise StoreUnavailable(str(exc)) from exc
        n = 0
        for doc in docs:
            if doc["state"] == "pending" and doc.get("generation", 0) < generation:
                done = await self._store.replace_by_id(
                    COLLECTION, doc | {"state": "claimed", "owner": "superseder",
                                       "lease_until": doc["fire_at"]},
                    condition={"state": "pending"})
                if done is not None:
                    try:
                        await self._store.insert(LOG, doc | {"state": "superseded"})
                    except DuplicateKey:
                        pass
                    await self._delete_claimed(doc["_id"], "superseder")
                    n += 1
        return n

    async def claim_due(self, now: datetime, owner: str, limit: int,
                        lease: timedelta) -> list[tuple[Timer, datetime, bool]]:
        """Claim up to `limit` due timers (and ones whose lease expired) for `owner`.

        `sla_timers` holds only live timers (pending or claimed): fired and superseded ones are
        moved to `sla_timer_log`. The earliest live timers are read by walking the `fire_at`
        index in order with a limit (on nx-27017 the only shape that does not scan the
        table); the window is four claim batches wide, so timers other replicas hold claimed
        do not hide the due ones. Returns (timer, fire_at, retried); candidates are tried in
        random order so that replicas mostly try different ones first.
        """
        coll = self._store.collection(COLLECTION)
        try:
            head = await coll.find({}).sort("fire_at", 1).limit(limit * 4).to_list(limit * 4)
        except Exception as exc:
            raise StoreUnavailable(str(exc)) from exc
        candidates = [d for d in head if d["fire_at"] <= now and (
            d["state"] == "pending"
            or (d["state"] == "claimed" and d.get("lease_until") and d["lease_until"] <= now))]
        random.shuffle(candidates)
        claimed: list[tuple[Timer, datetime, bool]] = []
        for doc in candidates[:limit]:
            condition: dict[str, Any] = {"state": doc["state"]}
            if doc["state"] == "claimed":
                condition["lease_until"] = doc["lease_until"]
            won = await self._store.replace_by_id(
                COLLECTION,
                doc | {"state": "claimed", "owner": owner, "lease_until": now + lease,
                       "claims": int(doc.get("claims", 0)) + 1},
                condition=condition,
            )
            if won is not None:
                claimed.append((_timer(doc), doc["fire_at"], doc["state"] == "claimed"))
        return claimed

    async def already_done(self, timer: Timer) -> bool:
        """Whether the timer is in the log already (its previous owner died after logging it)."""
        return await self._store.find_one(LOG, {"_id": timer.id}) is not None

    async def finish(self, timer: Timer, owner: str, state: str, at: datetime) -> None:
        """Log the owner's claim as `fired` or `superseded`, then remove it from the live set.

        A crash between the two leaves a claimed timer whose next owner finds it logged and
        only removes it; a lost lease leaves the timer to the new owner.
        """
        doc = await self._store.find_one(COLLECTION, {"_id": timer.id})
        if doc is None or doc.get("owner") != owner or doc["state"] != "claimed":
            return
        try:
            await self._store.insert(LOG, doc | {"state": state, "fired_at": at})
        except DuplicateKey:
            pass
        await self._delete_claimed(timer.id, owner)

    async def _delete_claimed(self, timer_id: str, owner: str) -> None:
        try:
            await self._store.collection(COLLECTION).delete_one(
                {"_id": timer_id, "state": "claimed", "owner": owner})
        except Exception as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def drop_claim(self, timer: Timer, owner: str) -> None:
        await self._delete_claimed(timer.id, owner)

    async def mark_fired(self, timer: Timer, owner: str, fired_at: datetime) -> None:
        await self.finish(timer, owner, "fired", fired_at)

    async def open_deadlines(self, now: datetime, horizons: dict[str, timedelta]
                             ) -> dict[tuple[str, str], int]:
        return await count_open_deadlines(self._store, now, horizons)


async def count_open_deadlines(store: Store, now: datetime,
                               horizons: dict[str, timedelta]) -> dict[tuple[str, str], int]:
    """Pending breach timers per (step, due_in bucket): indexed counts on (state, fire_at).

    Pending timers are only the current generation's (recomputation supersedes the others);
    overdue breach timers not fired yet count in the first bucket.
    """
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
                 intake_at=doc["intake_at"], generation=int(doc.get("generation", 0)),
                 severity=doc.get("severity", "general"), escalated_to=doc.get("escalated_to"))
