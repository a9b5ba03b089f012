"""The outbox in the work order: a state change and the events it causes, written together.

Every stage that changes an order goes through `OrderWriter`:

1. `apply(order, step)`: `step(order)` returns the changed order and the events (or commands)
   it causes, or None when the change is already stored (a redelivery, or another replica won).
   The changed order is written with those events in its `outbox` by ONE conditional
   single-document write on the version read; a version conflict re-reads and re-applies the
   step (the one conflict-and-retry loop of the code base).
2. `flush(order)`: every pending entry is published (persistent, mandatory, confirmed by the
   broker), in the order written, then the entries are removed with one small `$unset` by `_id`.

A crash between 1 and 2 loses nothing: the redelivered message finds its change stored, the
step returns None, and `apply` flushes what is still pending. Marking sent does not bump the
version, so a concurrent writer that read the order before the `$unset` writes the sent
entries back; they are then published a second time with the same event id, which consumers
deduplicate. Nothing is ever lost, at worst something is announced twice. To keep that rare,
mark-sent increments `outbox_rev`, and a writer that read pending entries writes only while
`outbox_rev` is unchanged (else it re-reads): a duplicate needs the mark-sent to fall between
a concurrent writer's conditional write and its own publish.

Fault injection for the end-to-end test (never set in production): with
`SUQIU_FAULT_CRASH_AFTER_SAVE=<stage>[@<n>]` the process exits at once (`os._exit(86)`) after
the write of a change at `<stage>`, when `n` (default 0) of its entries have been published.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from pydantic import BaseModel

from suqiu.shared.contracts import Command, PendingEvent, WorkOrder
from suqiu.shared.contracts.tickets import HANDED_ON
from suqiu.shared.store import VersionConflict

__all__ = [
    "COMMAND_ROUTING_KEY",
    "FAULT_ENV",
    "FAULT_EXIT_CODE",
    "HANDED_ON",
    "Change",
    "FaultSwitch",
    "OrderWriter",
    "OutboxPublisher",
    "OutboxStore",
    "Written",
    "entry_for",
    "entry_key",
    "with_outbox",
]

log = structlog.get_logger(__name__)
FAULT_ENV = "SUQIU_FAULT_CRASH_AFTER_SAVE"
FAULT_EXIT_CODE = 86
COMMAND_ROUTING_KEY = "command.dispatcher"
# HANDED_ON (shared/contracts/tickets.py): events whose consumer writes the same order next;
# that write removes the entry it consumed (`consumed=`), so a fresh flush of only such
# entries saves its mark-sent write.

Message = BaseModel  # an event (routing key = its type) or a dispatcher Command
Change = tuple[WorkOrder, Sequence[Message]]
Step = Callable[[WorkOrder], Change | None]


class OutboxStore(Protocol):
    """What the writer needs of a service's repository."""

    async def get_ticket(self, ticket_no: str) -> WorkOrder | None: ...

    async def save_ticket(self, order: WorkOrder, *, expected_version: int,
                          outbox_rev: int | None = None) -> WorkOrder: ...

    async def insert_ticket(self, order: WorkOrder) -> None: ...

    async def mark_sent(self, ticket_no: str, keys: Sequence[str]) -> None: ...


class OutboxPublisher(Protocol):
    async def publish_pending(self, entry: PendingEvent, ticket_no: str) -> bool: ...


def entry_key(event_id: str) -> str:
    """The outbox key of an event: a digest, since event ids hold `.` (a path separator)."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:24]


def entry_for(message: Message) -> PendingEvent:
    """The outbox entry of an event (to `events`) or a dispatcher command (to `intake`)."""
    if isinstance(message, Command):
        return PendingEvent(event_id=message.command_id, exchange="intake",
                            routing_key=COMMAND_ROUTING_KEY, body=message.model_dump_json())
    return PendingEvent(event_id=message.event_id,  # type: ignore[attr-defined]
                        exchange="events", routing_key=message.type,  # type: ignore[attr-defined]
                        body=message.model_dump_json())


def with_outbox(order: WorkOrder, messages: Iterable[Message]) -> WorkOrder:
    """The order with `messages` added to its outbox (an entry already pending stays once)."""
    outbox = dict(order.outbox)
    for m in messages:
        entry = m if isinstance(m, PendingEvent) else entry_for(m)
        outbox.setdefault(entry_key(entry.event_id), entry)
    return order.model_copy(update={"outbox": outbox})


@dataclass(frozen=True)
class FaultSwitch:
    """Test-only crash point: exit hard after a write at `stage`, `after` entries published."""

    stage: str | None = None
    after: int = 0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FaultSwitch:
        raw = (environ if environ is not None else dict(os.environ)).get(FAULT_ENV, "").strip()
        if not raw:
            return cls()
        stage, _, n = raw.partition("@")
        return cls(stage, int(n or 0))

    def check(self, stage: str, published: int) -> None:
        if self.stage == stage and published == self.after:
            log.warning("fault_injected_crash", stage=stage, published=published)
            os._exit(FAULT_EXIT_CODE)


@dataclass
class Written:
    """What `apply` did: `ok` (written now) or `duplicate` (stored before), the order as
    stored (outbox flushed) and the ids of the entries this change added."""

    outcome: str
    order: WorkOrder
    event_ids: list[str] = field(default_factory=list)


class OrderWriter:
    """Applies a change to one order under optimistic concurrency, with its outbox."""

    def __init__(self, store: OutboxStore, publisher: OutboxPublisher, stage: str, *,
                 max_conflicts: int = 5, fault: FaultSwitch | None = None,
                 on_conflict: Callable[[], None] | None = None) -> None:
        self._store = store
        self._publisher = publisher
        self.stage = stage
        self._max_conflicts = max_conflicts
        self._fault = fault if fault is not None else FaultSwitch.from_env()
        self._on_conflict = on_conflict

    def at(self, stage: str) -> OrderWriter:
        """The same writer for another stage name (fault points, logs)."""
        return OrderWriter(self._store, self._publisher, stage,
                           max_conflicts=self._max_conflicts, fault=self._fault,
                           on_conflict=self._on_conflict)

    async def apply(self, order: WorkOrder, step: Step, *, retries: int | None = None,
                    consumed: str | None = None) -> Written:
        """Apply `step` to `order` (read by the caller) and write it with its events.

        On a version conflict the order is read again and the step re-applied, up to
        `retries` times (default: the writer's limit); then VersionConflict is raised.
        `consumed`: the id of the event being handled; it was published, so its entry (if
        still pending, see HANDED_ON) leaves the outbox with this write.
        """
        limit = self._max_conflicts if retries is None else retries
        attempt = 0
        while True:
            try:
                change = step(order)
            except Exception:
                await self._flush_quietly(order)
                raise
            if change is None:
                return Written("duplicate", await self.flush(order))
            after, messages = change
            if consumed is not None and entry_key(consumed) in after.outbox:
                after = after.model_copy(update={"outbox": {
                    k: v for k, v in after.outbox.items() if k != entry_key(consumed)}})
            entries = [entry_for(m) for m in messages]
            try:
                # Pending entries read with the order are written back only if nobody marked
                # them sent meanwhile (else: re-read, so a sent event is not published again).
                saved = await self._store.save_ticket(
                    with_outbox(after, entries), expected_version=order.version,
                    outbox_rev=order.outbox_rev if order.outbox else None)
            except VersionConflict:
                if self._on_conflict is not None:
                    self._on_conflict()
                if attempt >= limit:
                    raise
                attempt += 1
                fresh = await self._store.get_ticket(order.ticket_no)
                if fresh is None:
                    raise
                order = fresh
                continue
            return Written("ok", await self.flush(saved, fresh=True),
                           [e.event_id for e in entries])

    async def _flush_quietly(self, order: WorkOrder) -> None:
        """A refused step still publishes what the order has pending (e.g. the events of an
        HTTP command cut by a crash: no redelivery would publish them); the refusal stands."""
        if not order.outbox:
            return
        try:
            await self.flush(order)
        except Exception as exc:  # the refusal is the answer; the next touch retries
            log.warning("outbox_flush_failed", error=type(exc).__name__)

    async def insert(self, order: WorkOrder, messages: Sequence[Message]) -> WorkOrder:
        """Insert a new order with its first events (DuplicateKey when it exists), then flush."""
        stored = with_outbox(order, messages)
        await self._store.insert_ticket(stored)
        return await self.flush(stored, fresh=True)

    async def flush(self, order: WorkOrder, *, fresh: bool = False) -> WorkOrder:
        """Publish the order's pending entries with confirms, then mark them sent (a fresh
        write whose entries are all HANDED_ON leaves that to the consumer's write)."""
        if not order.outbox:
            return order
        published = 0
        for entry in order.outbox.values():
            if fresh:
                self._fault.check(self.stage, published)
            await self._publisher.publish_pending(entry, order.ticket_no)
            published += 1
        if fresh:
            self._fault.check(self.stage, published)
        if not (fresh and all(e.routing_key in HANDED_ON for e in order.outbox.values())):
            await self._store.mark_sent(order.ticket_no, list(order.outbox))
        return order.model_copy(update={"outbox": {}})
