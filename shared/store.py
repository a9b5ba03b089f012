"""The MongoDB store: one client, the collections, their indexes, and driver errors translated.

Only operations that both MongoDB 7 and nx-27017 implement identically are used (see
tests/integration/test_storage_contract.py). Notably: writes address documents by `_id`
(nx-27017 scans for other filters); a document that changes beyond counters is written
whole with a conditional replace (nx-27017 stores a datetime given to `$set` as a string
and corrupts `$push` of documents, while inserts and replaces keep types); `_id`s are
strings (nx-27017's replace turns other `_id` types into strings); reads use indexes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.contracts.tickets import WorkOrder

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


# (collection, keys, unique)
INDEXES: tuple[tuple[str, tuple[tuple[str, int], ...], bool], ...] = (
    ("tickets", (("intake_key", ASCENDING),), True),
    ("tickets", (("status", ASCENDING), ("updated_at", ASCENDING)), False),
    ("tickets", (("received_at", ASCENDING),), False),
    ("tickets", (("person_key", ASCENDING), ("received_at", ASCENDING)), False),
    ("linked_submissions", (("ticket_no", ASCENDING),), False),
    ("rejected_messages", (("queue", ASCENDING), ("received_at", ASCENDING)), False),
    ("notifications", (("ticket_no", ASCENDING),), False),
    ("notifications", (("state", ASCENDING), ("due_at", ASCENDING)), False),
    ("notifications", (("provider_id", ASCENDING),), False),
    ("sla_timers", (("state", ASCENDING), ("fire_at", ASCENDING)), False),
    ("sla_timers", (("ticket_no", ASCENDING),), False),
    ("sla_timers", (("fire_at", ASCENDING),), False),
    ("sla_timer_log", (("ticket_no", ASCENDING),), False),
    ("duplicate_signatures", (("region_key", ASCENDING), ("at", ASCENDING)), False),
    ("duplicate_signatures", (("cluster_id", ASCENDING), ("at", ASCENDING)), False),
    ("labels", (("at", ASCENDING),), False),  # classifier training labels: the time window
)


class Store:
    """Owns the client; hands out collections; translates driver errors at the edge."""

    def __init__(self, url: str, database: str) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000
        )
        self.db: AsyncDatabase[dict[str, Any]] = self._client[database]

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
        try:
            await self.db[collection].insert_one(dict(doc))
        except DuplicateKeyError as exc:
            raise DuplicateKey(str(exc)) from exc
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def find_one(self, collection: str, flt: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return await self.db[collection].find_one(dict(flt))
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def update_by_id(
        self, collection: str, _id: Any, update: Mapping[str, Any], *,
        condition: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Atomically update the document with this `_id` if it also matches `condition`.

        Returns the document after the update, or None when nothing matched.
        """
        _check_no_datetime_set(update)
        flt = {"_id": _id, **(condition or {})}
        try:
            return await self.db[collection].find_one_and_update(
                flt, dict(update), return_document=ReturnDocument.AFTER
            )
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def replace_by_id(
        self, collection: str, doc: Mapping[str, Any], *, condition: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """Atomically replace the document `doc["_id"]` if it still matches `condition`.

        Returns the new document, or None when the condition no longer held.
        """
        body = dict(doc)
        _id = body.pop("_id")
        try:
            return await self.db[collection].find_one_and_replace(
                {"_id": _id, **condition}, body, return_document=ReturnDocument.AFTER
            )
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def next_sequence(self, name: str) -> int:
        """An atomically incremented counter, unique across every replica."""
        try:
            doc = await self.db["counters"].find_one_and_update(
                {"_id": name}, {"$inc": {"seq": 1}}, upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            # Two first upserts raced on a real MongoDB; the loser simply increments.
            return await self.next_sequence(name)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc
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

    async def save_ticket(self, order: WorkOrder, *, expected_version: int) -> WorkOrder:
        """Write a changed order if nobody else changed it since `expected_version`."""
        saved = await self.replace_by_id(
            "tickets", order.to_document(), condition={"version": expected_version}
        )
        if saved is None:
            raise VersionConflict(f"{order.ticket_no} is no longer at version {expected_version}")
        return WorkOrder.from_document(saved)


def _check_no_datetime_set(update: Mapping[str, Any]) -> None:
    """Refuse `$set` of datetimes: nx-27017 would store them as strings (use replace_by_id)."""
    from datetime import datetime

    for value in update.get("$set", {}).values():
        if isinstance(value, datetime):
            raise ValueError("datetime in $set is not portable; use Store.replace_by_id")
