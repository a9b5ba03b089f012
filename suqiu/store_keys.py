"""`suqiu store-backfill`: add the precomputed key fields to documents written before them.

The services query `tickets.received_key` / `person_at`, `notifications.due_key` and
`duplicate_signatures.region_at` / `cluster_at`, `sla_timers.fire_key` / `due_key`
(shared/keys.py). Documents stored by an
older version lack them: a caller's earlier tickets would not be found for linking, and a
notification held or retrying before the upgrade would never be released. Run this once
after upgrading (it is idempotent and safe while the services run): it walks each
collection in `_id` order, in pages, and sets the missing field on each document by `_id`
(strings only, so `$set` is portable). Work orders keep their raw payload where it is;
new orders store it in `intake_payloads`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient

from suqiu.services.sla_monitor.domain import TIME_KEY
from suqiu.shared.keys import at_key

__all__ = ["backfill"]

PAGE = 500
_Key = Callable[[dict[str, Any]], str | None]


def _person_at(d: dict[str, Any]) -> str | None:
    return at_key(d["person_key"], d["received_at"]) if d.get("person_key") else None


def _due_key(d: dict[str, Any]) -> str | None:
    return at_key(d["state"], d["due_at"]) if d.get("due_at") and d.get("state") else None


def _region_at(d: dict[str, Any]) -> str | None:
    return at_key(d["region_key"], d["at"]) if d.get("region_key") and d.get("at") else None


def _cluster_at(d: dict[str, Any]) -> str | None:
    return at_key(d["cluster_id"], d["at"]) if d.get("cluster_id") and d.get("at") else None


def _received_key(d: dict[str, Any]) -> str | None:
    return at_key("at", d["received_at"]) if d.get("received_at") else None


def _fire_key(d: dict[str, Any]) -> str | None:
    return at_key(TIME_KEY, d["fire_at"]) if d.get("fire_at") else None


def _timer_due_key(d: dict[str, Any]) -> str | None:
    return at_key(TIME_KEY, d["due_at"]) if d.get("due_at") else None


FIELDS: tuple[tuple[str, str, _Key, dict[str, int]], ...] = (
    ("tickets", "received_key", _received_key, {"received_at": 1, "received_key": 1}),
    ("tickets", "person_at", _person_at, {"person_key": 1, "received_at": 1, "person_at": 1}),
    ("notifications", "due_key", _due_key, {"state": 1, "due_at": 1, "due_key": 1}),
    ("duplicate_signatures", "region_at", _region_at, {"region_key": 1, "at": 1, "region_at": 1}),
    ("duplicate_signatures", "cluster_at", _cluster_at,
     {"cluster_id": 1, "at": 1, "cluster_at": 1}),
    ("rejected_messages", "received_key", _received_key, {"received_at": 1, "received_key": 1}),
    ("sla_timers", "fire_key", _fire_key, {"fire_at": 1, "fire_key": 1}),
    ("sla_timers", "due_key", _timer_due_key, {"due_at": 1, "due_key": 1}),
)


async def backfill(mongo_url: str, database: str) -> dict[str, int]:
    """Set every missing key field; returns how many documents were updated per field."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = client[database]
    updated: dict[str, int] = {}
    try:
        for coll, field, key, projection in FIELDS:
            count = 0
            last: Any = None
            while True:
                flt = {"_id": {"$gt": last} if last is not None else {"$gte": ""}}
                page = await db[coll].find(flt, projection).sort("_id", 1).limit(PAGE) \
                    .to_list(PAGE)
                for doc in page:
                    value = key(doc)
                    if value is not None and doc.get(field) != value:
                        await db[coll].update_one({"_id": doc["_id"]}, {"$set": {field: value}})
                        count += 1
                if len(page) < PAGE:
                    break
                last = page[-1]["_id"]
            updated[f"{coll}.{field}"] = count
    finally:
        await client.close()
    return updated
