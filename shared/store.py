"""The MongoDB store: one client, the collections, their indexes, and driver errors translated.

Only operations that both MongoDB 7 and nx-27017 implement identically are used (see
tests/integration/test_storage_contract.py). Notably: writes address documents by `_id`
(nx-27017 scans for other filters); a document that changes beyond counters is written
whole with a conditional replace (nx-27017 stores a datetime given to `$set` as a string
and corrupts `$push` of documents, while inserts and replaces keep types); `_id`s are
strings (nx-27017's replace turns other `_id` types into strings); reads use indexes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry
from pymongo import ASCENDING, AsyncMongoClient, ReplaceOne, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from suqiu.shared.contracts.tickets import WorkOrder
from suqiu.shared.store_monitor import StoreCommandMonitor

__all__ = [
    "DuplicateKey",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "VersionConflict",
]


class StoreError(Exception):
    """Base of every store error."""


class StoreUnavailable(StoreError):
    """The database could not be reached or failed transiently; retry later."""


class DuplicateKey(StoreError):
    """A unique index refused the write: the thing exists already."""


class VersionConflict(StoreError):
    """The document changed since it was read (optimistic concurrency)."""


# (collection, keys, unique). Single-field indexes only: nx-27017 serves a compound index's
# equality + range by scanning, so a lookup on several fields uses a precomputed key field
# (`received_key`, `person_at`, `due_key`, `region_at`, `cluster_at`) queried as a range with
# sort and limit; a datetime range is served slowly by nx-27017 even when it names the index.
INDEXES: tuple[tuple[str, tuple[tuple[str, int], ...], bool], ...] = (
    ("tickets", (("intake_key", ASCENDING),), True),
    ("tickets", (("status", ASCENDING),), False),
    ("tickets", (("received_key", ASCENDING),), False),
    ("tickets", (("person_at", ASCENDING),), False),
    ("tickets", (("outbox_since", ASCENDING),), False),  # entries left pending (the sweeper)
    ("linked_submissions", (("ticket_no", ASCENDING),), False),
    ("rejected_messages", (("received_at", ASCENDING),), False),
    ("rejected_messages", (("received_key", ASCENDING),), False),
    ("notifications", (("ticket_no", ASCENDING),), False),
    ("notifications", (("due_key", ASCENDING),), False),
    ("notifications", (("provider_id", ASCENDING),), False),
    ("sla_timers", (("state", ASCENDING), ("fire_at", ASCENDING)), False),
    ("sla_timers", (("ticket_no", ASCENDING),), False),
    ("sla_timers", (("fire_at", ASCENDING),), False),
    ("sla_timers", (("fire_key", ASCENDING),), False),
    ("sla_timers", (("due_key", ASCENDING),), False),
    ("sla_timer_log", (("ticket_no", ASCENDING),), False),
    ("duplicate_signatures", (("region_at", ASCENDING),), False),
    ("duplicate_signatures", (("cluster_at", ASCENDING),), False),
    ("labels", (("at", ASCENDING),), False),  # classifier training labels: the time window
    # the dispatcher's department inbox: one entry per (department, order), two keys
    ("dispatch_inbox", (("open_due", ASCENDING),), False),
    ("dispatch_inbox", (("status_due", ASCENDING),), False),
)


DEFAULT_MAX_IN_FLIGHT = 4


class Store:
    """Owns the client; hands out collections; translates driver errors at the edge.

    At most `max_in_flight` operations of this process are at the store at once (the
    semaphore `limit`, and the connection pool of the same size behind it): a saturated
    store makes messages wait in the queues instead of making every handler time out.
    """

    def __init__(self, url: str, database: str, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
                 registry: CollectorRegistry | None = None, service: str | None = None) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.monitor = StoreCommandMonitor(registry, service)
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000,
            maxPoolSize=max_in_flight, event_listeners=[self.monitor],
        )
        self.db: AsyncDatabase[dict[str, Any]] = self._client[database]
        self.limit = asyncio.Semaphore(max_in_flight)

    @asynccontextmanager
    async def op(self) -> AsyncIterator[None]:
        """Hold one of the process's store slots; driver errors become StoreUnavailable."""
        async with self.limit:
            try:
                yield
            except DuplicateKeyError as exc:
                raise DuplicateKey(str(exc)) from exc
            except PyMongoError as exc:
                raise StoreUnavailable(str(exc)) from exc

    def collection(self, name: str) -> AsyncCollection[dict[str, Any]]:
        return self.db[name]

    @property
    def tickets(self) -> AsyncCollection[dict[str, Any]]:
        return self.db["tickets"]

    async def ping(self) -> bool:
        try:
            await self._client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    async def ensure_indexes(self) -> None:
        """Create every index; a no-op when they exist, so every replica may call it at start."""
        try:
            for coll, keys, unique in INDEXES:
                await self.db[coll].create_index(list(keys), unique=unique)
        except PyMongoError as exc:
            raise StoreUnavailable(f"creating indexes failed: {exc}") from exc

    async def close(self) -> None:
        await self._client.close()

    # --- generic helpers -------------------------------------------------------------
    async def insert(self, collection: str, doc: Mapping[str, Any]) -> None:
        """Insert one document; DuplicateKey when a unique index already holds its key."""
        async with self.op():
            await self.db[collection].insert_one(dict(doc))

    async def insert_many(self, collection: str, docs: Sequence[Mapping[str, Any]]) -> None:
        """Insert documents in one command (ordered); DuplicateKey when one already exists."""
        if not docs:
            return
        async with self.op():
            await self.db[collection].insert_many([dict(d) for d in docs])

    async def insert_new(self, collection: str, docs: Sequence[Mapping[str, Any]]) -> set[int]:
        """Insert documents in one unordered command; the positions whose `_id` (or another
        unique key) existed already, and were therefore not inserted."""
        if not docs:
            return set()
        try:
            async with self.limit:
                await self.db[collection].insert_many([dict(d) for d in docs], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if any(e.get("code") != 11000 for e in errors) or not errors:
                raise StoreUnavailable(str(exc)) from exc
            return {int(e["index"]) for e in errors}
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return set()

    async def replace_many(self, collection: str,
                           changes: list[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> int:
        """Conditional replaces by `_id` in one command: (document, condition) pairs; returns
        how many still matched their condition (the others were changed meanwhile)."""
        if not changes:
            return 0
        ops = []
        for doc, condition in changes:
            body = dict(doc)
            ops.append(ReplaceOne({"_id": body.pop("_id"), **condition}, body))
        async with self.op():
            result = await self.db[collection].bulk_write(ops, ordered=False)
        return int(result.matched_count)

    async def replace_newer(self, collection: str, docs: Sequence[Mapping[str, Any]]) -> None:
        """Upsert documents by `_id` in one unordered command, each only over an older
        `version` (a newer stored document stays: its upsert hits the `_id` and is skipped).
        Derived documents (e.g. an order's inbox entries) written after their source."""
        if not docs:
            return
        # The body keeps its `_id`: nx-27017's upsert does not take it from the filter.
        ops = [ReplaceOne({"_id": doc["_id"], "version": {"$lt": doc["version"]}}, dict(doc),
                          upsert=True) for doc in docs]
        try:
            async with self.limit:
                await self.db[collection].bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if any(e.get("code") != 11000 for e in errors) or not errors:
                raise StoreUnavailable(str(exc)) from exc
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def find_one(self, collection: str, flt: Mapping[str, Any]) -> dict[str, Any] | None:
        async with self.op():
            return await self.db[collection].find_one(dict(flt))

    async def find(self, collection: str, flt: Mapping[str, Any], *,
                   sort: list[tuple[str, int]] | None = None, limit: int,
                   projection: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """A bounded find (`limit` is required): one index walk, one store slot."""
        if limit < 1:
            raise ValueError("a find must be bounded (limit >= 1)")
        async with self.op():
            cursor = self.db[collection].find(dict(flt), projection)
            if sort:
                cursor = cursor.sort(sort)
            return await cursor.limit(limit).to_list(limit)

    async def update_by_id(
        self, collection: str, _id: Any, update: Mapping[str, Any], *,
        condition: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Atomically update the document with this `_id` if it also matches `condition`.

        Returns the document after the update, or None when nothing matched.
        """
        _check_no_datetime_set(update)
        flt = {"_id": _id, **(condition or {})}
        async with self.op():
            return await self.db[collection].find_one_and_update(
                flt, dict(update), return_document=ReturnDocument.AFTER
            )

    async def replace_by_id(
        self, collection: str, doc: Mapping[str, Any], *, condition: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """Atomically replace the document `doc["_id"]` if it still matches `condition`.

        Returns the new document, or None when the condition no longer held.
        """
        body = dict(doc)
        _id = body.pop("_id")
        async with self.op():
            return await self.db[collection].find_one_and_replace(
                {"_id": _id, **condition}, body, return_document=ReturnDocument.AFTER
            )

    async def next_sequence(self, name: str, block: int = 1) -> int:
        """An atomically incremented counter, unique across every replica.

        With `block` > 1 the counter moves by `block` and the caller owns the numbers
        `result - block + 1 .. result` (one command for a block of ticket numbers).
        """
        try:
            async with self.op():
                doc = await self.db["counters"].find_one_and_update(
                    {"_id": name}, {"$inc": {"seq": block}}, upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
        except DuplicateKey:
            # Two first upserts raced on a real MongoDB; the loser simply increments.
            return await self.next_sequence(name, block)
        assert doc is not None
        return int(doc["seq"])

    # --- work orders -----------------------------------------------------------------
    async def get_ticket(self, ticket_no: str) -> WorkOrder | None:
        doc = await self.find_one("tickets", {"_id": ticket_no})
        return WorkOrder.from_document(doc) if doc else None

    async def find_ticket_by_intake_key(self, intake_key: str) -> WorkOrder | None:
        doc = await self.find_one("tickets", {"intake_key": intake_key})
        return WorkOrder.from_document(doc) if doc else None

    async def insert_ticket(self, order: WorkOrder) -> None:
        await self.insert("tickets", order.to_document())

    async def save_ticket(self, order: WorkOrder, *, expected_version: int,
                          outbox_rev: int | None = None) -> WorkOrder:
        """Write a changed order if nobody else changed it since `expected_version` (and,
        with `outbox_rev`, nobody marked outbox entries sent since: see shared/outbox.py)."""
        condition: dict[str, Any] = {"version": expected_version}
        if outbox_rev is not None:
            condition["outbox_rev"] = outbox_rev
        saved = await self.replace_by_id("tickets", order.to_document(), condition=condition)
        if saved is None:
            raise VersionConflict(f"{order.ticket_no} is no longer at version {expected_version}")
        return WorkOrder.from_document(saved)

    async def mark_sent(self, ticket_no: str, keys: Sequence[str]) -> None:
        """Remove published entries from the order's outbox: one small write by `_id`.

        Deliberately not conditional and not a new version (see shared/outbox.py)."""
        if keys:
            await self.update_by_id("tickets", ticket_no, {
                "$unset": {**{f"outbox.{k}": "" for k in keys}, "outbox_since": ""},
                "$inc": {"outbox_rev": 1}})


def _check_no_datetime_set(update: Mapping[str, Any]) -> None:
    """Refuse `$set` of datetimes: nx-27017 would store them as strings (use replace_by_id)."""
    from datetime import datetime

    for value in update.get("$set", {}).values():
        if isinstance(value, datetime):
            raise ValueError("datetime in $set is not portable; use Store.replace_by_id")
