"""Sends planned notifications exactly once, holds them for quiet hours and digests, retries
transient failures with capped exponential backoff, and dead-letters exhausted ones.

Everything that waits (held, retrying, or a send whose sender crashed) is a document in the
delivery log with a `due_at`; one release loop per replica claims due documents atomically
(conditional replace: one winner across replicas), plans the notification again from the
stored event and the work order, and sends it. The clock is injected, so tests need no sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError

from suqiu.services.notifier.channels import DeliveryChannel, DeliveryResult, TransientDeliveryError
from suqiu.services.notifier.domain import Notification, Planner, QuietHours
from suqiu.services.notifier.metrics import NotifierMetrics
from suqiu.services.notifier.repository import NotificationLog
from suqiu.services.notifier.rules import digest_due, retry_delay
from suqiu.shared.background import repeat
from suqiu.shared.contracts import EVENT_ADAPTER, TicketEvent
from suqiu.shared.errors import FieldError, PermanentError
from suqiu.shared.messaging import (
    ERROR_DETAIL_HEADER,
    ERROR_REASON_HEADER,
    ORIGINAL_EXCHANGE_HEADER,
    ORIGINAL_QUEUE_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    EventPublisher,
)
from suqiu.shared.store import Store

__all__ = ["Clock", "Deliverer", "RetryPolicy"]

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class RetryPolicy:
    def __init__(self, base_s: float, cap_s: float, max_attempts: int, lease_s: float) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.max_attempts = max_attempts
        self.lease = timedelta(seconds=lease_s)


class Deliverer:
    def __init__(self, *, store: Store, log_: NotificationLog, planner: Planner,
                 channels: Mapping[str, DeliveryChannel], quiet: QuietHours,
                 retry: RetryPolicy, metrics: NotifierMetrics, publisher: EventPublisher,
                 work_queue: str, events_exchange: str,
                 clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._events_exchange = events_exchange
        self._store = store
        self.log = log_
        self.planner = planner
        self._channels = channels
        self._quiet = quiet
        self._retry = retry
        self._metrics = metrics
        self._publisher = publisher
        self._work_queue = work_queue
        self.clock = clock

    # --- the consumer path ---------------------------------------------------------------
    async def notify(self, event: TicketEvent) -> str:
        """Plan and send every notification of `event`; "ok" or "duplicate" (all known).

        Store commands per event: the order, one insert of every entry, one write of every
        send's outcome (provider calls happen between the two writes, each claimed first).
        """
        order = await self._store.get_ticket(event.ticket_no)
        if order is None:
            raise PermanentError("unknown_ticket", [FieldError(
                "ticket_no", "not_found", "no work order with this ticket number")])
        planned = self.planner.plan(event, order)
        event_doc = json.loads(EVENT_ADAPTER.dump_json(event))
        now = self.clock()
        docs = await self.log.begin_many([(n, self._initial(n, now)) for n in planned],
                                         event_doc, now)
        fresh = 0
        changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        after: list[Callable[[], Awaitable[None]]] = []
        for n, doc in zip(planned, docs, strict=True):
            if doc is None:
                self._counted(n, "deduplicated")
                continue
            fresh += 1
            if doc["state"] != "queued":  # skipped, or held for quiet hours or a digest
                self._counted(n, doc["state"])
                continue
            fields, then = await self._attempt(doc, n, now)
            changes.append((doc, fields))
            after.extend(then)
        await self.log.change_many(changes, now)
        for action in after:
            await action()
        return "ok" if fresh or not planned else "duplicate"

    def _initial(self, n: Notification, now: datetime) -> dict[str, Any]:
        """The state a new entry starts in: skipped, held (quiet hours, digest) or queued."""
        if n.skip_reason:
            return {"state": "skipped", "due_at": None, "detail": n.skip_reason,
                    "hold_reason": None}
        hold = self._quiet.hold_until(n, now)
        reason = "quiet_hours" if hold else None
        if hold is None and n.digest_minutes and n.channel == "email":
            hold, reason = digest_due(now, n.digest_minutes), "digest"
        if hold is not None:
            return {"state": "held", "due_at": hold, "detail": reason, "hold_reason": reason}
        return {"state": "queued", "due_at": now + self._retry.lease, "detail": None,
                "hold_reason": None}

    def _counted(self, n: Notification, outcome: str) -> str:
        self._metrics.count(n.channel, n.event_type, outcome)
        return outcome

    # --- sending ---------------------------------------------------------------------------
    async def _send(self, doc: dict[str, Any], n: Notification, now: datetime) -> str:
        fields, after = await self._attempt(doc, n, now)
        await self.log.change(doc, now, **fields)
        for action in after:
            await action()
        return str(fields["state"])

    async def _attempt(self, doc: dict[str, Any], n: Notification, now: datetime
                       ) -> tuple[dict[str, Any], list[Callable[[], Awaitable[None]]]]:
        """Call the provider once: the entry's new fields, and what to do once they are stored."""
        attempts = doc["attempts"] + 1
        started = time.perf_counter()
        try:
            result = await self._channels[n.channel].deliver(n)
        except TransientDeliveryError as exc:
            self._metrics.send_seconds.labels(n.channel).observe(time.perf_counter() - started)
            return self._transient(doc, n, attempts, str(exc), now)
        self._metrics.send_seconds.labels(n.channel).observe(time.perf_counter() - started)
        return self._result(doc, n, attempts, result, now), []

    def _result(self, doc: dict[str, Any], n: Notification, attempts: int,
                result: DeliveryResult, now: datetime) -> dict[str, Any]:
        self._metrics.count(n.channel, doc["event_type"], result.state)
        if result.state == "failed":
            log.warning("notification_failed", channel=n.channel, event_type=n.event_type,
                        ticket_no=n.ticket_no, detail=result.detail)
        return {"state": result.state, "attempts": attempts, "due_at": None,
                "provider_id": result.provider_id, "detail": result.detail,
                "sent_at": now if result.state == "sent" else None}

    def _transient(self, doc: dict[str, Any], n: Notification, attempts: int,
                   error: str, now: datetime
                   ) -> tuple[dict[str, Any], list[Callable[[], Awaitable[None]]]]:
        if attempts >= self._retry.max_attempts:
            self._metrics.count(n.channel, n.event_type, "failed")
            self._metrics.count(n.channel, n.event_type, "dead_lettered")

            async def dead_letter() -> None:
                await self._dead_letter(doc, n, attempts, error)

            return ({"state": "failed", "attempts": attempts, "due_at": None, "retryable": True,
                     "detail": f"retries_exhausted: {error}"[:300]}, [dead_letter])
        delay = retry_delay(attempts, self._retry.base_s, self._retry.cap_s)
        self._metrics.count(n.channel, n.event_type, "retried")
        log.info("notification_retry_scheduled", channel=n.channel, event_type=n.event_type,
                 ticket_no=n.ticket_no, attempt=attempts, backoff_s=delay, error=error[:200])
        return ({"state": "retrying", "attempts": attempts,
                 "due_at": now + timedelta(seconds=delay), "detail": error[:300]}, [])

    async def _dead_letter(self, doc: dict[str, Any], n: Notification, attempts: int,
                           error: str) -> None:
        body = json.dumps(doc["event"], ensure_ascii=False).encode()
        headers = {
            ERROR_REASON_HEADER: "retries_exhausted",
            ERROR_DETAIL_HEADER: json.dumps({"channel": n.channel, "attempts": attempts,
                                             "error": error[:300]}, ensure_ascii=False),
            ORIGINAL_QUEUE_HEADER: self._work_queue,
            # `suqiu dlq replay notifier` republishes it where events go; the delivery log
            # lets only this exhausted notification be sent again.
            ORIGINAL_EXCHANGE_HEADER: self._events_exchange,
            ORIGINAL_ROUTING_KEY_HEADER: doc["event_type"],
            "x-suqiu-rejected-by": "notifier",
            "x-suqiu-rejected-at": self.clock().isoformat(),
            "x-suqiu-notification-key": n.key,
            "x-suqiu-ticket-no": n.ticket_no,
        }
        await self._publisher.publish_dead_letter(self._work_queue, body, headers, doc["event_id"])
        log.warning("notification_dead_lettered", channel=n.channel, event_type=n.event_type,
                    ticket_no=n.ticket_no, attempts=attempts)

    # --- the release loop ----------------------------------------------------------------
    async def release_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Send what is due at `now`: held after quiet hours or a digest interval, retries
        whose backoff passed, and sends whose sender crashed. Returns how many were claimed."""
        now = now or self.clock()
        claimed = 0
        digests: dict[tuple[str, str], list[tuple[dict[str, Any], Notification]]] = {}
        for state in ("held", "retrying", "queued"):
            for doc in await self.log.due(state, now, limit):
                mine = await self.log.change(doc, now, state="queued",
                                             due_at=now + self._retry.lease)
                if mine is None:
                    continue  # another replica claimed it
                claimed += 1
                n = await self._replan(mine)
                if n is None:
                    await self.log.change(mine, now, state="failed", due_at=None,
                                          detail="no_longer_planned")
                    continue
                self._metrics.count(n.channel, n.event_type, "released")
                if doc.get("hold_reason") == "digest" and state == "held":
                    digests.setdefault((n.channel, n.recipient), []).append((mine, n))
                else:
                    await self._send(mine, n, now)
        for group in digests.values():
            await self._send_digest(group, now)
        for state in ("held", "retrying"):
            self._metrics.waiting.labels(state).set(await self.log.count(state))
        return claimed

    async def _replan(self, doc: dict[str, Any]) -> Notification | None:
        try:
            event = EVENT_ADAPTER.validate_python(doc["event"])
        except ValidationError:  # stored under a contract that no longer parses
            return None
        order = await self._store.get_ticket(event.ticket_no)
        if order is None:
            return None
        for n in self.planner.plan(event, order):
            if n.key == doc["_id"]:
                return n
        return None

    async def _send_digest(self, group: list[tuple[dict[str, Any], Notification]],
                           now: datetime) -> None:
        if len(group) == 1:
            await self._send(*group[0], now)
            return
        first = group[0][1]
        r = self.planner.templates.render("_digest", {
            "count": len(group), "items": [n.text for _, n in group],
            "signature": self.planner.signature})
        combined = replace(first, title=r.title, text=r.body)
        attempts = max(d["attempts"] for d, _ in group) + 1
        changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        after: list[Callable[[], Awaitable[None]]] = []
        try:
            result = await self._channels[first.channel].deliver(combined)
        except TransientDeliveryError as exc:
            for doc, n in group:
                fields, then = self._transient(doc, n, doc["attempts"] + 1, str(exc), now)
                changes.append((doc, fields))
                after.extend(then)
        else:
            changes = [(doc, self._result(doc, first, attempts, result, now)) for doc, _ in group]
        await self.log.change_many(changes, now)
        for action in after:
            await action()

    async def release_forever(self, interval_s: float, limit: int) -> None:
        """Background task: a failing pass is logged and retried at the next interval."""
        await repeat(lambda: self.release_due(self.clock(), limit), interval_s=interval_s,
                     failure_event="notifier_release_failed", batch=limit)
