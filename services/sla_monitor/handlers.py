"""SLA monitor: keeps each order's timers in line with its stored deadlines; a scanner fires them.

Subscribers are thin: read the order (its `sla` is the truth), plan the timer changes (pure,
domain.py), write them in one command. Firing re-reads the order, so a timer whose deadline
moved in the meantime is re-planned instead of announced; breaches and escalations go into
the order's history (conditional write by `_id`) before they are published.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from suqiu.services.sla_monitor.domain import (
    UPGRADE,
    Moment,
    StepTimer,
    announce_kind,
    desired,
    due_now,
    event_for,
    plan,
)
from suqiu.services.sla_monitor.metrics import SlaMetrics
from suqiu.services.sla_monitor.repository import SlaTimerRepository
from suqiu.shared.background import repeat
from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import EVENT_ADAPTER, HistoryEntry, TicketDispatched, WorkOrder
from suqiu.shared.messaging import EventPublisher, ReliableConsumer
from suqiu.shared.sla import DeadlineBook
from suqiu.shared.topology import Topology

__all__ = ["SlaHandler", "register"]

log = structlog.get_logger(__name__)
OPEN_DEADLINE_HORIZONS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4),
                          "24h": timedelta(hours=24)}
MAX_CONFLICTS = 8
FIRE_CONCURRENCY = 8  # claimed timers handled at once (each: one read, maybe one write)
_HISTORY_KINDS = {"breach": "sla_breach", "escalation": "sla_escalation"}


class SlaHandler:
    def __init__(self, repo: SlaTimerRepository, publisher: EventPublisher, catalogue: Catalogue,
                 metrics: SlaMetrics, book: DeadlineBook,
                 clock: Any = lambda: datetime.now(UTC)) -> None:
        self._repo = repo
        self._publisher = publisher
        self._metrics = metrics
        self._book = book
        self._policies = book.policies
        self._centre = catalogue.triage_department
        self._supervisor_of = {d.id: d.parent for d in catalogue.departments if d.parent}
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    # --- lifecycle events ---------------------------------------------------------------
    async def on_event(self, event: BaseModel) -> str:
        ticket_no: str = event.ticket_no  # type: ignore[attr-defined]
        structlog.contextvars.bind_contextvars(ticket_no=ticket_no)
        order = await self._repo.order(ticket_no)
        if order is None:
            return "ignored"
        return await self.sync(order)

    async def sync(self, order: WorkOrder) -> str:
        """Write the timer changes the order's stored deadlines call for (one command)."""
        existing = await self._repo.timers_of(order.ticket_no)
        writes, deletes = plan(order, existing, self._clock(), self._policies,
                               self._supervisor_of, self._centre)
        await self._repo.write(writes, deletes)
        for t in writes:
            self._metrics.written.labels(t.step).inc()
        return "ok" if writes or deletes else "duplicate"

    # --- firing -----------------------------------------------------------------------
    async def fire_due(self, now: datetime, limit: int, lease: timedelta) -> int:
        """Claim and handle up to `limit` due timers; returns how many were due.

        Timers are claimed a few at a time and handled at once, so a claim never waits
        behind a long batch (its lease stays fresh under load).
        """
        due = await self._repo.due(now, limit)
        for i in range(0, len(due), FIRE_CONCURRENCY):
            claims = await asyncio.gather(*(
                self._repo.claim(doc, self.owner, self._clock(), lease)
                for doc in due[i:i + FIRE_CONCURRENCY]))
            batch = []
            for claim in claims:
                if claim is None:
                    continue  # another replica won it
                doc, retried = claim
                self._metrics.timers.labels("claimed").inc()
                if retried:
                    self._metrics.timers.labels("retried").inc()
                batch.append(self._fire(StepTimer.from_doc(doc), doc["fire_at"], retried))
            await asyncio.gather(*batch)
        return len(due)

    async def _fire(self, timer: StepTimer, fire_at: datetime, retried: bool = False) -> None:
        order = await self._repo.order(timer.ticket_no)
        if order is None:
            await self._repo.release(replace(timer, fire_at=None), self.owner)
            return
        current = desired(order, self._policies, self._supervisor_of, self._centre).get(timer.step)
        if current is None or not current.same_clock(timer):
            # the deadline moved since the timer was written: re-plan from the order
            self._metrics.timers.labels("replanned").inc()
            await self.sync(order)
            return
        now = self._clock()
        announce, advanced = due_now(timer, now, self._policies)
        if timer.step == UPGRADE:
            await self._upgrade(order, now)
        else:
            recorded = await self._record(order, timer, announce, now)
            if not retried:  # another owner recorded it already: it announced it too
                announce = [m for m in announce if event_for(timer, m, now).event_id
                            not in recorded]
            for m in announce:
                await self._publisher.publish_event(event_for(timer, m, now))
                self._metrics.announced.labels(announce_kind(m.kind), timer.step,
                                               timer.department, timer.severity).inc()
        await self._repo.release(advanced, self.owner)
        self._metrics.timers.labels("fired").inc()
        self._metrics.lag.observe(max(0.0, (now - fire_at).total_seconds()))

    async def _record(self, order: WorkOrder, timer: StepTimer, announce: list[Moment],
                      now: datetime) -> set[str]:
        """Breaches and escalations into the order's history, once (keyed by the event id).

        Returns the event ids that were in the history already (recorded by another owner).
        """
        for _ in range(MAX_CONFLICTS):
            notes = {h.note for h in order.history if h.note}
            entries = []
            for m in announce:
                action = _HISTORY_KINDS.get(announce_kind(m.kind))
                eid = event_for(timer, m, now).event_id
                if action is None or eid in notes:
                    continue
                entries.append(HistoryEntry(
                    at=now, actor="sla_monitor", role="system", action=action,
                    from_status=order.status, to_status=order.status, note=eid,
                    reason=f"{timer.step} due {timer.due_at.isoformat()}"
                           + (f" -> {m.to}" if m.to else "")))
            if not entries:
                return notes
            after = order.model_copy(update={"history": [*order.history, *entries],
                                             "version": order.version + 1, "updated_at": now})
            if await self._repo.save_order(after, expected_version=order.version):
                return notes
            fresh = await self._repo.order(order.ticket_no)
            if fresh is None:
                return set()
            order = fresh
        raise RuntimeError(f"{order.ticket_no}: gave up recording after {MAX_CONFLICTS} conflicts")

    async def _upgrade(self, order: WorkOrder, now: datetime) -> None:
        """A long-open order becomes major: a history fact, and the deadlines it changes."""
        for _ in range(MAX_CONFLICTS):
            entry = HistoryEntry(at=now, actor="sla_monitor", role="system", action="upgrade",
                                 from_status=order.status, to_status=order.status, note="major",
                                 reason="open longer than the policy allows")
            after = self._book.stamp(order.model_copy(update={
                "history": [*order.history, entry], "version": order.version + 1,
                "updated_at": now}))
            if await self._repo.save_order(after, expected_version=order.version):
                self._metrics.announced.labels("upgrade", "resolution", "", "major").inc()
                await self.sync(after)
                return
            fresh = await self._repo.order(order.ticket_no)
            if fresh is None:
                return
            order = fresh

    async def update_open_deadlines(self, cap: int) -> None:
        """Refresh the open-deadlines gauge from a bounded walk of the `due_at` index."""
        now = self._clock()
        try:
            docs = await self._repo.upcoming(now, max(OPEN_DEADLINE_HORIZONS.values()), cap)
        except Exception as exc:
            log.warning("sla_open_deadlines_failed", error=type(exc).__name__)
            return
        counts: dict[tuple[str, str], int] = {}
        for step in self._policies.announce_steps:
            for label in OPEN_DEADLINE_HORIZONS:
                counts[(step, label)] = 0
        for d in docs:
            if d["step"] == UPGRADE:
                continue
            left = d["due_at"] - now
            label = next(k for k, h in OPEN_DEADLINE_HORIZONS.items() if left <= h)
            counts[(d["step"], label)] = counts.get((d["step"], label), 0) + 1
        for (step, label), n in counts.items():
            self._metrics.open_deadlines.labels(step, label).set(n)
        self._metrics.open_deadlines_capped.set(1 if len(docs) >= cap else 0)

    async def scan_forever(self, interval_s: float, limit: int, lease_s: float,
                           gauge_every_s: float, gauge_cap: int) -> None:
        """Background loop; a failing scan is logged and retried at the next interval."""
        lease = timedelta(seconds=lease_s)
        next_gauge = 0.0

        async def gauge_then_fire() -> int:
            nonlocal next_gauge
            if gauge_every_s > 0 and asyncio.get_running_loop().time() >= next_gauge:
                next_gauge = asyncio.get_running_loop().time() + gauge_every_s
                await self.update_open_deadlines(gauge_cap)
            return await self.fire_due(self._clock(), limit, lease)

        await repeat(gauge_then_fire, interval_s=interval_s, failure_event="sla_scan_failed",
                     batch=limit)


def _parse(body: Any) -> BaseModel:
    return EVENT_ADAPTER.validate_python(body)  # type: ignore[return-value]


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: SlaHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("sla_monitor"), prefetch=prefetch,
        parse=_parse,
        handle=lambda event, _: handler.on_event(event),
        description="Lifecycle events: align the order's SLA timers with its stored deadlines.",
        schema=TicketDispatched,
    )
