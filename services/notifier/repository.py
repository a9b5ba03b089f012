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

from suqiu.services.notifier.domain import Notification
from suqiu.shared.keys import at_key, key_range
from suqiu.shared.store import Store

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


def _changed(doc: dict[str, Any], now: datetime, fields: dict[str, Any]
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The entry with `fields` applied, and the condition that it is still as read."""
    new = dict(doc) | fields | {"updated_at": now}
    new["due_key"] = _due_key(new["state"], new.get("due_at"))
    if "state" in fields and fields["state"] != doc["state"]:
        new["history"] = [*doc.get("history", []),
                          {"at": now, "state": fields["state"], "detail": fields.get("detail")}]
    return new, {"state": doc["state"], "attempts": doc["attempts"]}


class NotificationLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def begin(self, n: Notification, event: dict[str, Any], now: datetime, *,
                    state: str, due_at: datetime | None, detail: str | None = None,
                    hold_reason: str | None = None) -> dict[str, Any] | None:
        """Create the log entry; None when this notification exists already (deduplicated).

        A failure that exhausted its retries is the exception: a replayed event claims it again.
        """
        [doc] = await self.begin_many([(n, {"state": state, "due_at": due_at, "detail": detail,
                                            "hold_reason": hold_reason})], event, now)
        return doc

    async def begin_many(self, entries: list[tuple[Notification, dict[str, Any]]],
                         event: dict[str, Any], now: datetime) -> list[dict[str, Any] | None]:
        """`begin` for every notification of one event with one insert command; `entries`
        are (notification, {state, due_at, detail, hold_reason}) pairs."""
        docs = [self._new(n, event, now, **spec) for n, spec in entries]
        existed = await self._store.insert_new(COLLECTION, docs)
        out: list[dict[str, Any] | None] = []
        for i, doc in enumerate(docs):
            if i not in existed:
                out.append(doc)
                continue
            old = await self._store.find_one(COLLECTION, {"_id": doc["_id"]})
            if old and old["state"] == "failed" and old.get("retryable"):
                spec = entries[i][1]
                out.append(await self.change(old, now, state=spec["state"],
                                             due_at=spec["due_at"], attempts=0, retryable=False,
                                             detail="replayed", hold_reason=spec["hold_reason"]))
            else:
                out.append(None)
        return out

    @staticmethod
    def _new(n: Notification, event: dict[str, Any], now: datetime, *, state: str,
             due_at: datetime | None, detail: str | None = None,
             hold_reason: str | None = None) -> dict[str, Any]:
        return {
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

    async def change(self, doc: dict[str, Any], now: datetime, **fields: Any
                     ) -> dict[str, Any] | None:
        """Write `fields` if nobody changed the document since it was read; None otherwise."""
        new, condition = _changed(doc, now, fields)
        return await self._store.replace_by_id(COLLECTION, new, condition=condition)

    async def change_many(self, changes: list[tuple[dict[str, Any], dict[str, Any]]],
                          now: datetime) -> int:
        """`change` for several entries with one command: (document, fields) pairs; returns
        how many were written (the others changed meanwhile, as `change` returning None)."""
        return await self._store.replace_many(
            COLLECTION, [_changed(doc, now, fields) for doc, fields in changes])

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
