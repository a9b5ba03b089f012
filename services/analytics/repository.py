"""The analytics service's only access to the store.

Counting is one `bulk_write` per message on `analytics_aggregates`: first a conditional upsert
of the order's progress document `o|<ticket_no>` (how many of its facts are counted: an
upsert whose filter no longer matches collides on `_id` and stops the ordered batch), then
one `$inc` per aggregate document. A replayed or concurrent message therefore adds nothing
twice. Event-keyed facts (repeat complaints) use a marker `e|<event_id>` the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from suqiu.services.analytics.domain.keys import Increment
from suqiu.services.intake.repository import PAYLOADS
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.keys import TIME_KEY, at_key, key_range
from suqiu.shared.store import DuplicateKey, Store, StoreUnavailable

__all__ = ["AGGREGATES", "INDEXES", "AnalyticsRepository"]

AGGREGATES = "analytics_aggregates"
HOTSPOTS = "analytics_hotspots"
STATE = "analytics_state"
AUDIT = "audit_log"
ARCHIVE_QUEUE = "archive_queue"
INDEXES: tuple[tuple[str, str], ...] = (
    (AGGREGATES, "p"), (HOTSPOTS, "window_end"), (ARCHIVE_QUEUE, "due_key"),
    ("rejected_messages", "received_key"), (AUDIT, "at"),
)
_PARTITION_CAP = 1_000_000  # aggregate documents of one day or month, far above any real count
_PERSON_CAP = 10_000  # one person's orders over the retention period, at most


def _inc_ops(incs: dict[str, Increment]) -> list[UpdateOne]:
    ops = []
    for _id, inc in incs.items():
        update: dict[str, Any] = {"$inc": inc.counters, "$set": {"p": inc.partition, **inc.dims}}
        if inc.samples:
            update["$min"] = {"sample_lo": min(inc.samples)}
            update["$max"] = {"sample_hi": max(inc.samples)}
        ops.append(UpdateOne({"_id": _id}, update, upsert=True))
    return ops


class AnalyticsRepository:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._agg = store.collection(AGGREGATES)

    async def ensure_indexes(self) -> None:
        try:
            for coll, fld in INDEXES:
                await self._store.collection(coll).create_index([(fld, ASCENDING)])
        except PyMongoError as exc:
            raise StoreUnavailable(f"creating analytics indexes failed: {exc}") from exc

    async def order(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no)

    async def counted(self, ticket_no: str) -> int:
        doc = await self._store.find_one(AGGREGATES, {"_id": f"o|{ticket_no}"})
        return int(doc["n"]) if doc else 0

    async def count(self, ticket_no: str, before: int, after: int,
                    incs: dict[str, Increment]) -> None:
        """Record facts `before..after` of the order; DuplicateKey when someone else did."""
        guard = UpdateOne({"_id": f"o|{ticket_no}", "n": before}, {"$set": {"n": after}},
                          upsert=True)
        await self._bulk([guard, *_inc_ops(incs)])

    async def count_event(self, event_id: str, incs: dict[str, Increment]) -> None:
        """Count an event's facts once; DuplicateKey when the event was counted already."""
        guard = UpdateOne({"_id": f"e|{event_id}", "n": 0}, {"$set": {"n": 1}}, upsert=True)
        await self._bulk([guard, *_inc_ops(incs)])

    async def _bulk(self, ops: list[UpdateOne]) -> None:
        try:
            await self._agg.bulk_write(ops, ordered=True)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if errors and errors[0].get("code") == 11000 and errors[0].get("index") == 0:
                raise DuplicateKey("already counted") from exc
            raise StoreUnavailable(str(exc)[:300]) from exc
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    # --- reading ----------------------------------------------------------------------
    async def partition(self, p: str) -> list[dict[str, Any]]:
        """Every aggregate document of one partition (equality on the indexed `p`)."""
        try:
            return await self._agg.find({"p": p}).limit(_PARTITION_CAP).to_list(None)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def replace_partitions(self, partitions: Iterable[str],
                                 docs: list[dict[str, Any]]) -> None:
        """Rebuild: drop the partitions' documents, write the recomputed ones (offline)."""
        try:
            for p in partitions:
                await self._agg.delete_many({"p": p})
            for i in range(0, len(docs), 1000):
                await self._agg.insert_many(docs[i:i + 1000], ordered=False)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def orders_received(self, start: datetime, end: datetime,
                              page: int = 1000) -> Any:
        """Orders received in [start, end), oldest first, in pages (a range on an index)."""
        tickets = self._store.tickets
        cursor_at = start
        seen: set[str] = set()
        while True:
            # the string key `received_key`: nx-27017 walks a datetime range slowly
            flt = {"received_key": {"$gte": at_key(TIME_KEY, cursor_at),
                                    "$lt": at_key(TIME_KEY, end)}}
            try:
                docs = await tickets.find(flt).sort("received_key", ASCENDING).limit(page) \
                    .to_list(None)
            except PyMongoError as exc:
                raise StoreUnavailable(str(exc)) from exc
            fresh = [d for d in docs if d["_id"] not in seen]
            for d in fresh:
                yield WorkOrder.from_document(d)
            if len(docs) < page or not fresh:
                return
            last = docs[-1]["received_at"]
            seen = {d["_id"] for d in docs if d["received_at"] == last}
            cursor_at = last

    async def linked_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Repeat submissions linked in [start, end) (offline: scans `linked_submissions`)."""
        try:
            return await self._store.collection("linked_submissions").find(
                {"linked_at": {"$gte": start, "$lt": end}}).to_list(None)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    # --- hotspots ---------------------------------------------------------------------
    async def record_hotspot(self, doc: dict[str, Any]) -> bool:
        """Keep a hotspot once per event id; False when it was recorded already."""
        try:
            await self._store.insert(HOTSPOTS, doc)
        except DuplicateKey:
            return False
        return True

    async def hotspots(self, window_end: str) -> list[dict[str, Any]]:
        return await self._store.collection(HOTSPOTS).find({"window_end": window_end}).to_list(None)

    async def state(self, name: str) -> dict[str, Any]:
        return await self._store.find_one(STATE, {"_id": name}) or {"_id": name}

    async def save_state(self, doc: dict[str, Any]) -> None:
        try:
            await self._store.collection(STATE).replace_one({"_id": doc["_id"]}, doc, upsert=True)
        except DuplicateKeyError:
            pass  # two replicas raced on the first save: either cursor is fine
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    # --- archive and retention --------------------------------------------------------
    async def schedule_archive(self, ticket_no: str, due_at: datetime) -> None:
        try:
            await self._store.collection(ARCHIVE_QUEUE).replace_one(
                {"_id": ticket_no}, {"_id": ticket_no, "due_at": due_at,
                                     "due_key": at_key(TIME_KEY, due_at)}, upsert=True)
        except DuplicateKeyError:
            pass
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def archive_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        coll = self._store.collection(ARCHIVE_QUEUE)
        return await coll.find({"due_key": {"$lte": at_key(TIME_KEY, now)}}).sort(
            "due_key", ASCENDING).limit(limit).to_list(None)

    async def drop_archive_entry(self, ticket_no: str) -> None:
        await self._store.collection(ARCHIVE_QUEUE).delete_one({"_id": ticket_no})

    async def save_order(self, order: WorkOrder, expected_version: int) -> bool:
        """Write a masked or erased order unless it changed meanwhile (then the next run retries)."""
        saved = await self._store.replace_by_id("tickets", order.to_document(),
                                                condition={"version": expected_version})
        return saved is not None

    async def orders_of_person(self, person_key: str) -> list[WorkOrder]:
        """Every order of one person: a walk of the `person_at` key (shared/keys.py)."""
        docs = await self._store.find("tickets", {"person_at": key_range(person_key)},
                                      sort=[("person_at", ASCENDING)], limit=_PERSON_CAP)
        return [WorkOrder.from_document(d) for d in docs]

    async def drop_payload(self, intake_key: str) -> None:
        """Delete the raw intake payload kept apart from the order (services/intake)."""
        async with self._store.op():
            await self._store.collection(PAYLOADS).delete_one({"_id": intake_key})

    async def purge_rejected(self, after: datetime, before: datetime,
                             limit: int) -> tuple[int, datetime | None]:
        """Drop bodies and headers of rejected messages received in [after, before)."""
        coll = self._store.collection("rejected_messages")
        docs = await coll.find({"received_key": {"$gte": at_key(TIME_KEY, after),
                                                 "$lt": at_key(TIME_KEY, before)}},
                               {"received_at": 1, "purged": 1}).sort(
            "received_key", ASCENDING).limit(limit).to_list(None)
        n = 0
        for d in docs:
            if not d.get("purged"):
                await self._store.update_by_id("rejected_messages", d["_id"], {"$set": {
                    "body_text": None, "body_base64": "", "headers": {}, "purged": True}})
                n += 1
        return n, (docs[-1]["received_at"] if len(docs) == limit else None)

    async def audit(self, entry: dict[str, Any]) -> None:
        await self._store.insert(AUDIT, entry)
