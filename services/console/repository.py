"""The console's only access to the store.

Reads are by `_id` (single, `$in`, or an `_id` range with sort and limit over the console's
read-model keys) or by equality on an indexed field (`notifications.ticket_no`); work orders are
never written here: changes go through the dispatcher's command API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError, PyMongoError

from suqiu.services.console.domain.readmodel import prefix_range
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.store import DuplicateKey, Store, StoreUnavailable

__all__ = ["ConsoleRepository"]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

USERS, INDEX, ORDERS, AUDIT, ANSWERS, LABELS = (
    "console_users", "console_index", "console_orders", "console_audit", "console_answers",
    "console_labels")


class ConsoleRepository:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._db = store.db

    # --- users ----------------------------------------------------------------------
    async def user(self, username: str) -> dict[str, Any] | None:
        return await self._store.find_one(USERS, {"_id": username})

    async def put_user(self, doc: dict[str, Any]) -> None:
        try:
            await self._db[USERS].replace_one({"_id": doc["_id"]}, doc, upsert=True)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def users(self, limit: int = 500) -> list[dict[str, Any]]:
        """Accounts by user name (an `_id` range), without their password hashes."""
        now = time.time()
        docs = await self._find(USERS, {"_id": {"$gte": ""}}, ("_id", ASCENDING), limit)
        return [{k: v for k, v in d.items() if k != "hash"}
                | {"locked": float(d.get("locked_until") or 0) > now} for d in docs]

    async def record_failure(self, username: str, failed: int, locked_until: float) -> None:
        await self._store.update_by_id(USERS, username, {"$set": {
            "failed": failed, "locked_until": locked_until}})

    async def clear_failures(self, username: str) -> None:
        await self._store.update_by_id(USERS, username, {"$set": {"failed": 0, "locked_until": 0.0}})

    # --- orders (read only) -----------------------------------------------------------
    async def order(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no)

    async def order_by_intake_key(self, intake_key: str) -> WorkOrder | None:
        return await self._store.find_ticket_by_intake_key(intake_key)

    async def recent_orders(self, total: int, page: int) -> AsyncIterator[WorkOrder]:
        """The newest orders, newest first, paged on the `received_at` index."""
        before: datetime | None = None
        seen = 0
        while seen < total:
            flt = {"received_at": {"$lt": before}} if before else {"received_at": {"$gt": _EPOCH}}
            docs = await self._find("tickets", flt, ("received_at", DESCENDING), page)
            for doc in docs:
                yield WorkOrder.from_document(doc)
            seen += len(docs)
            if len(docs) < page:
                return
            before = docs[-1]["received_at"]

    async def notifications(self, ticket_no: str, limit: int = 50) -> list[dict[str, Any]]:
        return await self._find("notifications", {"ticket_no": ticket_no}, None, limit)

    # --- read model -------------------------------------------------------------------
    async def keys_of(self, ticket_no: str) -> dict[str, Any] | None:
        return await self._store.find_one(ORDERS, {"_id": ticket_no})

    async def project(self, ticket_no: str, keys: list[str], summary: dict[str, Any],
                      version: int) -> None:
        """Replace the order's read-model entries by `keys` (idempotent; newer versions win)."""
        old = await self.keys_of(ticket_no)
        if old is not None and int(old.get("version", 0)) > version:
            return
        had = set(old["keys"]) if old else set()
        try:
            for key in keys:
                if key not in had:  # the body includes `_id`: nx-27017's upsert would invent one
                    await self._db[INDEX].replace_one({"_id": key}, {"_id": key, "ticket_no": ticket_no},
                                                      upsert=True)
            for key in had - set(keys):
                await self._db[INDEX].delete_one({"_id": key})
            await self._db[ORDERS].replace_one(
                {"_id": ticket_no},
                {"_id": ticket_no, "keys": keys, "summary": summary, "version": version}, upsert=True)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def scan(self, prefix: str, *, upto: str | None = None, newest_first: bool = False,
                   limit: int = 100) -> list[dict[str, Any]]:
        """Summaries of the orders whose keys start with `prefix`, in key order."""
        rows = await self._find(INDEX, {"_id": prefix_range(prefix, upto)},
                                ("_id", DESCENDING if newest_first else ASCENDING), limit)
        return await self.summaries([r["ticket_no"] for r in rows])

    async def summaries(self, ticket_nos: list[str]) -> list[dict[str, Any]]:
        wanted = list(dict.fromkeys(ticket_nos))
        if not wanted:
            return []
        docs = await self._find(ORDERS, {"_id": {"$in": wanted}}, None, len(wanted))
        by_no = {d["_id"]: d["summary"] for d in docs}
        return [by_no[t] for t in wanted if t in by_no]

    # --- audit, labels, answers --------------------------------------------------------
    async def audit(self, at: datetime, user: str, role: str, ticket_no: str, action: str,
                    detail: str | None = None) -> None:
        await self._store.insert(AUDIT, {"_id": f"{ticket_no}|{at.isoformat()}|{uuid.uuid4().hex[:8]}",
                                         "at": at, "user": user, "role": role,
                                         "ticket_no": ticket_no, "action": action, "detail": detail})

    async def audit_of(self, ticket_no: str, limit: int = 100) -> list[dict[str, Any]]:
        return await self._find(AUDIT, {"_id": prefix_range(f"{ticket_no}|")}, ("_id", ASCENDING), limit)

    async def label(self, doc: dict[str, Any]) -> None:
        try:
            await self._store.insert(LABELS, doc)
        except DuplicateKey:  # the same decision submitted again
            pass

    async def answers(self, category: str, limit: int = 100) -> list[dict[str, Any]]:
        return await self._find(ANSWERS, {"_id": prefix_range(f"{category}|")}, ("_id", ASCENDING), limit)

    async def answer(self, answer_id: str) -> dict[str, Any] | None:
        return await self._store.find_one(ANSWERS, {"_id": answer_id})

    async def put_answer(self, doc: dict[str, Any]) -> None:
        try:
            await self._db[ANSWERS].replace_one({"_id": doc["_id"]}, doc, upsert=True)
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def delete_answer(self, answer_id: str) -> None:
        try:
            await self._db[ANSWERS].delete_one({"_id": answer_id})
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def hotspots(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest problem hotspots the analytics service found (问题热点, docs/reports.md):
        a walk of its `window_end` index, newest first."""
        return await self._find("analytics_hotspots", {"window_end": {"$gte": "0"}},
                                ("window_end", -1), limit)

    async def _find(self, coll: str, flt: dict[str, Any], sort: tuple[str, int] | None,
                    limit: int) -> list[dict[str, Any]]:
        try:
            cursor = self._db[coll].find(flt)
            if sort is not None:
                cursor = cursor.sort(*sort)
            return [d async for d in cursor.limit(limit)]
        except DuplicateKeyError:
            raise
        except PyMongoError as exc:
            raise StoreUnavailable(str(exc)) from exc
