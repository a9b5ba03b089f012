"""SLA monitor: recomputes an order's clocks on every lifecycle event; a scanner fires timers."""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from services.sla_monitor.domain import (
    Facts,
    LogEntry,
    Timer,
    compute_clocks,
    fired_event,
    kind_of,
    merge_log,
    timers_for_clocks,
)
from services.sla_monitor.metrics import SlaMetrics
from services.sla_monitor.repository import SlaTimerRepository
from shared.calendar import BusinessCalendar
from shared.catalogue import Catalogue
from shared.contracts import EVENT_ADAPTER, TicketDispatched, WorkOrder
from shared.messaging import EventPublisher, ReliableConsumer
from shared.sla import SlaPolicies
from shared.store import Store
from shared.topology import Topology

__all__ = ["SlaHandler", "register"]

log = structlog.get_logger(__name__)
OPEN_DEADLINES_EVERY_S = 15.0
OPEN_DEADLINE_HORIZONS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4),
                          "24h": timedelta(hours=24)}
MAX_CONFLICTS = 8


class ClockNotReady(Exception):
    """A lifecycle event arrived before the order's dispatch is known: retried (transient)."""


def _kind_label(kind: str) -> str:
    for base in ("escalate", "urge"):
        if kind.startswith(base):
            return "escalation" if base == "escalate" else "urge"
    return kind


class SlaHandler:
    def __init__(self, repo: SlaTimerRepository, publisher: EventPublisher, catalogue: Catalogue,
                 metrics: SlaMetrics, policies: SlaPolicies, calendar: BusinessCalendar,
                 store: Store | None = None) -> None:
        self._repo = repo
        self._publisher = publisher
        self._catalogue = catalogue
        self._metrics = metrics
        self._policies = policies
        self._calendar = calendar
        self._store = store
        self._supervisor_of = {d.id: d.parent for d in catalogue.departments if d.parent}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    # --- lifecycle events ---------------------------------------------------------------
    async def _order(self, ticket_no: str) -> WorkOrder | None:
        return await self._store.get_ticket(ticket_no) if self._store is not None else None

    def _facts(self, ticket_no: str, order: WorkOrder | None,
               event: TicketDispatched | None) -> Facts:
        cls = order.classification if order else None
        details = order.channel_details if order else {}
        level = details.get("customer_level") or details.get("level")
        if event is not None:
            severity, department, intake_at = event.severity.value, event.department, event.intake_at
        elif order is not None and cls is not None and order.dispatch is not None:
            severity, department = cls.severity.value, order.dispatch.department
            intake_at = order.received_at
        else:
            raise ClockNotReady(f"{ticket_no}: no dispatch known yet")
        return Facts(ticket_no=ticket_no, intake_at=intake_at, profile=self._catalogue.profile,
                     severity=severity, department=department,
                     channel=order.channel.value if order else None,
                     category=cls.category if cls else None,
                     level=str(level) if level else None)

    @staticmethod
    def _entry(event: Any) -> LogEntry | None:
        kind = kind_of(event.type)
        if kind is None:
            return None
        severity = getattr(event, "severity", None)
        return LogEntry(kind=kind, at=event.occurred_at,
                        department=getattr(event, "department", None),
                        severity=severity.value if severity is not None else None,
                        new_due=getattr(event, "new_resolution_due", None))

    @staticmethod
    def _history(order: WorkOrder | None) -> list[LogEntry]:
        out = []
        for h in order.history if order else []:
            kind = kind_of(h.action)
            if kind is not None and kind not in ("dispatched", "extension_approved"):
                out.append(LogEntry(kind=kind, at=h.at))
        return out

    async def on_event(self, event: BaseModel) -> str:
        ticket_no: str = event.ticket_no  # type: ignore[attr-defined]
        structlog.contextvars.bind_contextvars(ticket_no=ticket_no)
        entry = self._entry(event)
        if entry is None:
            return "ignored"
        order = await self._order(ticket_no)
        dispatched = event if isinstance(event, TicketDispatched) else None
        return await self.apply(ticket_no, [entry, *self._history(order)],
                                lambda: self._facts(ticket_no, order, dispatched))

    async def on_dispatched(self, event: TicketDispatched) -> str:
        return await self.on_event(event)

    async def apply(self, ticket_no: str, entries: list[LogEntry], facts_fn: Any) -> str:
        """Add facts to the order's log; on a change, a new generation and its timers."""
        for _ in range(MAX_CONFLICTS):
            doc = await self._repo.load_clock(ticket_no)
            if doc is None:
                facts = facts_fn()
                await self._repo.create_clock(facts, merge_log(entries))
                continue
            old = [LogEntry.from_doc(e) for e in doc["log"]]
            merged = merge_log(old, entries)
            generation = int(doc["generation"])
            changed = len(merged) != len(old)
            if changed:
                generation += 1
                new_doc = doc | {"log": [e.to_doc() for e in merged], "generation": generation}
                if not await self._repo.save_clock(new_doc, expected_generation=generation - 1):
                    continue
            # Also on a redelivery: make sure the current generation's timers exist.
            facts = Facts(**doc["facts"])
            clocks = compute_clocks(facts, merged, self._policies, self._calendar)
            timers = timers_for_clocks(facts, clocks, generation, self._policies,
                                       self._supervisor_of)
            created = await self._repo.schedule(timers)
            for t in created:
                self._metrics.scheduled.labels(t.step, _kind_label(t.kind)).inc()
            superseded = await self._repo.supersede(ticket_no, generation)
            self._metrics.timers.labels("superseded").inc(superseded)
            return "ok" if changed or created else "duplicate"
        raise RuntimeError(f"{ticket_no}: gave up after {MAX_CONFLICTS} clock conflicts")

    # --- firing -----------------------------------------------------------------------
    async def fire_due(self, now: datetime, limit: int, lease: timedelta) -> int:
        """Claim and announce every due timer; returns how many were claimed."""
        claimed = await self._repo.claim_due(now, self.owner, limit, lease)
        for timer, fire_at, retried in claimed:
            self._metrics.timers.labels("claimed").inc()
            if retried:
                self._metrics.timers.labels("retried").inc()
            await self._fire(timer, fire_at, retried)
        return len(claimed)

    async def _fire(self, timer: Timer, fire_at: datetime, retried: bool = False) -> None:
        if retried and await self._repo.already_done(timer):
            await self._repo.drop_claim(timer, self.owner)
            return
        clock = await self._repo.load_clock(timer.ticket_no)
        if clock is not None and int(clock["generation"]) != timer.generation:
            await self._repo.finish(timer, self.owner, "superseded", datetime.now(UTC))
            self._metrics.timers.labels("superseded").inc()
            return
        fired_at = datetime.now(UTC)
        if timer.kind == "upgrade" and clock is not None:
            await self.apply(timer.ticket_no, [LogEntry(kind="upgraded", at=timer.fire_at,
                                                        severity="major")], lambda: None)
        else:
            event = fired_event(timer, fired_at)
            if event is not None and timer.step in self._policies.announce_steps:
                await self._publisher.publish_event(event)
        await self._repo.finish(timer, self.owner, "fired", fired_at)
        self._metrics.timers.labels("fired").inc()
        self._metrics.fired.labels(_kind_label(timer.kind), timer.step, timer.department,
                                   timer.severity).inc()
        self._metrics.lag.observe(max(0.0, (fired_at - fire_at).total_seconds()))

    async def _update_open_deadlines(self) -> None:
        """Refresh the open-deadlines gauge; a failure only leaves it stale."""
        try:
            counts = await self._repo.open_deadlines(datetime.now(UTC), OPEN_DEADLINE_HORIZONS)
        except Exception as exc:
            log.warning("sla_open_deadlines_failed", error=type(exc).__name__)
            return
        for (step, due_in), n in counts.items():
            self._metrics.open_deadlines.labels(step, due_in).set(n)

    async def scan_forever(self, interval_s: float, limit: int, lease_s: float,
                           gauge_every_s: float = OPEN_DEADLINES_EVERY_S) -> None:
        """Background loop; a failing scan is logged and retried at the next interval."""
        lease = timedelta(seconds=lease_s)
        next_gauge = 0.0
        while True:
            if gauge_every_s > 0 and asyncio.get_running_loop().time() >= next_gauge:
                next_gauge = asyncio.get_running_loop().time() + gauge_every_s
                await self._update_open_deadlines()
            try:
                fired = await self.fire_due(datetime.now(UTC), limit, lease)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("sla_scan_failed", error=type(exc).__name__, detail=str(exc)[:300])
                fired = 0
            if fired < limit:
                await asyncio.sleep(interval_s)


def _parse(body: Any) -> BaseModel:
    return EVENT_ADAPTER.validate_python(body)  # type: ignore[return-value]


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: SlaHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("sla_monitor"), prefetch=prefetch,
        parse=_parse,
        handle=lambda event, _: handler.on_event(event),
        description="Dispatch and lifecycle events: recompute the order's SLA clocks and timers.",
        schema=TicketDispatched,
    )
