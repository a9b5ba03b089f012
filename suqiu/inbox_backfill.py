"""`suqiu store-backfill`, the dispatcher's part: department inbox entries (`dispatch_inbox`,
services/dispatcher/domain/inbox.py) for the work orders it handled before the inbox keys.
Idempotent and safe while the services run: it walks the orders in `_id` order, in pages, and
writes an order's entries only when they are missing or older than the order."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from suqiu.services.dispatcher.domain.inbox import ALL, inbox_entries
from suqiu.services.dispatcher.repository import INBOX
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.store import Store

__all__ = ["backfill_inbox"]

PAGE = 500


async def backfill_inbox(mongo_url: str, database: str) -> int:
    """Inbox entries for every order the dispatcher handled whose entries are missing or older."""
    store = Store(mongo_url, database)
    count = 0
    last: Any = None
    try:
        while True:
            flt = {"_id": {"$gt": last} if last is not None else {"$gte": ""}}
            page = await store.find("tickets", flt, sort=[("_id", 1)], limit=PAGE)
            for doc in page:
                if not doc.get("lifecycle") and not doc.get("dispatch"):
                    continue  # not yet the dispatcher's
                try:
                    order = WorkOrder.from_document(doc)
                except ValidationError:
                    continue
                mine = await store.find_one(INBOX, {"_id": f"{ALL}|{order.ticket_no}"})
                if mine is None or mine.get("version", 0) < order.version:
                    await store.replace_newer(INBOX, inbox_entries(order))
                    count += 1
            if len(page) < PAGE:
                break
            last = page[-1]["_id"]
    finally:
        await store.close()
    return count
