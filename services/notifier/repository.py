"""The delivery log: one document per (event, channel, recipient), keyed for exactly-once.

`_id` is the notification key, so a unique index decides who sends. Documents hold dates,
so every change is a whole-document conditional replace by `_id` (see shared/store.py).
States: queued (being sent, under a lease) -> sent -> delivered; held (quiet hours or a
digest) and retrying (a transient failure) wait for `due_at`; failed and skipped are final.
A queued document whose lease (`due_at`) expired belonged to a crashed sender and is taken
over by the release loop. No address is stored: only the masked recipient, and the event,
from which the notification is planned again when it is released.

What waits is found through one indexed key, `due_key = "<state>|<due_at>"` (shared/keys.py):
"held entries due by now" is a range on it with sort and limit, never a compound query.
The gauges of waiting entries count with a bounded walk of that index, not count_documents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifier.domain import Notification
from shared.keys import at_key, key_range
from shared.store import DuplicateKey, Store

__all__ = ["COLLECTION", "FINAL_STATES", "WAITING_STATES", "NotificationLog"]

COLLECTION = "notifications"
FINAL_STATES = frozenset({"sent", "delivered", "failed", "skipped"})
WAITING_STATES = ("held", "retrying", "queued")
COUNT_CAP = 10_000  # the waiting gauges walk at most this many index entries
TICKET_LOG_LIMIT = 500


def _due_key(state: str, due_at: datetime | None) -> str | None:
    return at_key(state, due_at) if due_at is not None else None
_PUBLIC_FIELDS = ("_id", "ticket_no", "event_id", "event_type", "channel", "audience",
                  "department", "recipient_masked", "title", "text", "state", "hold_reason",
                  "due_at", "attempts", "provider_id", "detail", "created_at", "updated_at",
                  "sent_at", "delivered_at", "history")


class NotificationLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def begin(self, n: Notification, event: dict[str, Any], now: datetime, *,
                    state: str, due_at: datetime | None, detail: str | None = None,
                    hold_reason: str | None = None) -> dict[str, Any] | None:
        """Create the log entry; None when this notification exists already (deduplicated).

        A failure that exhausted its retries is the exception: a replayed event claims it again.
        """
        doc = {
            "_id": n.key, "ticket_no": n.ticket_no, "event_id": n.event_id,
            "event_type": n.event_type, "channel": n.channel, "audience": n.audience,
            "department": n.department, "recipient_masked": n.recipient_masked,
            "title": n.title, "text": n.text, "state": state, "hold_reason": hold_reason,
            "due_at": due_at, "attempts": 0, "retryable": False, "provider_id": None,
            "detail": detail, "event": event, "created_at": now, "updated_at": now,
            "sent_at": None, "delivered_at": None,
            "history": [{"at": now, "state": state, "detail": detail}],
            "due_key": _due_key(state, due_at),
        }
        try:
            await self._store.insert(COLLECTION, doc)
            return doc
        except DuplicateKey:
            existing = await self._store.find_one(COLLECTION, {"_id": n.key})
        if existing and existing["state"] == "failed" and existing.get("retryable"):
            return await self.change(existing, now, state=state, due_at=due_at, attempts=0,
                                     retryable=False, detail="replayed",
                                     hold_reason=hold_reason)
        return None

    async def change(self, doc: dict[str, Any], now: datetime, **fields: Any
                     ) -> dict[str, Any] | None:
        """Write `fields` if nobody changed the document since it was read; None otherwise."""
        new = dict(doc) | fields | {"updated_at": now}
        new["due_key"] = _due_key(new["state"], new.get("due_at"))
        if "state" in fields and fields["state"] != doc["state"]:
            new["history"] = [*doc.get("history", []),
                              {"at": now, "state": fields["state"], "detail": fields.get("detail")}]
        condition = {"state": doc["state"], "attempts": doc["attempts"]}
        return await self._store.replace_by_id(COLLECTION, new, condition=condition)

    async def due(self, state: str, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Entries in `state` whose `due_at` has come, oldest first (index `due_key`)."""
        return await self._store.find(COLLECTION, {"due_key": key_range(state, until=now)},
                                      sort=[("due_key", 1)], limit=limit)

    async def count(self, state: str, cap: int = COUNT_CAP) -> int:
        """Entries waiting in `state`, counted up to `cap` by a walk of the `due_key` index."""
        docs = await self._store.find(COLLECTION, {"due_key": key_range(state)},
                                      sort=[("due_key", 1)], limit=cap, projection={"_id": 1})
        return len(docs)

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self._store.find_one(COLLECTION, {"_id": key})

    async def by_provider_id(self, provider_id: str) -> dict[str, Any] | None:
        return await self._store.find_one(COLLECTION, {"provider_id": provider_id})

    async def for_ticket(self, ticket_no: str) -> list[dict[str, Any]]:
        """The delivery log of one ticket, oldest first, without internal fields (bounded)."""
        docs = await self._store.find(COLLECTION, {"ticket_no": ticket_no},
                                      limit=TICKET_LOG_LIMIT,
                                      projection={f: 1 for f in _PUBLIC_FIELDS})
        return sorted(docs, key=lambda d: (d["created_at"], d["_id"]))
