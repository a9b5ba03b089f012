"""The delivery log: one document per (event, channel, recipient), keyed for exactly-once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.notifier.channels import DeliveryResult
from services.notifier.domain import Notification
from shared.store import DuplicateKey, Store

__all__ = ["NotificationLog"]

COLLECTION = "notifications"
FINAL_STATES = frozenset({"sent", "held", "failed", "skipped"})


class NotificationLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def begin(self, n: Notification) -> bool:
        """Record the attempt; False when this notification already reached a final state."""
        now = datetime.now(UTC)
        try:
            await self._store.insert(COLLECTION, {
                "_id": n.key, "ticket_no": n.ticket_no, "event_id": n.event_id,
                "event_type": n.event_type, "channel": n.channel,
                "recipient_masked": n.recipient_masked, "text": n.text,
                "state": "sending", "attempts": 1, "created_at": now, "updated_at": now,
            })
            return True
        except DuplicateKey:
            doc = await self._store.find_one(COLLECTION, {"_id": n.key})
            if doc and doc.get("state") in FINAL_STATES:
                return False
            await self._store.update_by_id(COLLECTION, n.key, {"$inc": {"attempts": 1}})
            return True

    async def finish(self, n: Notification, state: str, result: DeliveryResult | None = None,
                     detail: str | None = None) -> None:
        doc = await self._store.find_one(COLLECTION, {"_id": n.key})
        if doc is None:
            return
        update: dict[str, Any] = {"state": state, "updated_at": datetime.now(UTC)}
        if result is not None:
            update["provider_id"] = result.provider_id
            update["detail"] = result.detail
        if detail is not None:
            update["detail"] = detail
        await self._store.replace_by_id(COLLECTION, doc | update,
                                        condition={"state": doc["state"]})
