"""SLA monitor: schedules timers on ticket.dispatched; a scanner fires due timers."""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta

import structlog
from faststream.rabbit import RabbitBroker

from services.sla_monitor.domain import fired_event, timers_for
from services.sla_monitor.metrics import SlaMetrics
from services.sla_monitor.repository import SlaTimerRepository
from shared.catalogue import Catalogue
from shared.contracts import TicketDispatched
from shared.messaging import EventPublisher, ReliableConsumer
from shared.topology import Topology

__all__ = ["SlaHandler", "register"]

log = structlog.get_logger(__name__)
OPEN_DEADLINES_EVERY_S = 15.0
OPEN_DEADLINE_HORIZONS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4),
                          "24h": timedelta(hours=24)}


class SlaHandler:
    def __init__(self, repo: SlaTimerRepository, publisher: EventPublisher, catalogue: Catalogue,
                 metrics: SlaMetrics) -> None:
        self._repo = repo
        self._publisher = publisher
        self._catalogue = catalogue
        self._metrics = metrics
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    async def on_dispatched(self, event: TicketDispatched) -> str:
        structlog.contextvars.bind_contextvars(ticket_no=event.ticket_no)
        timers = timers_for(event, self._catalogue.sla[event.severity.value].warn_ratio)
        created = await self._repo.schedule(timers)
        for t in created:
            self._metrics.scheduled.labels(t.step, t.kind).inc()
        return "ok" if created else "duplicate"

    async def fire_due(self, now: datetime, limit: int, lease: timedelta) -> int:
        """Claim and announce every due timer; returns how many fired."""
        claimed = await self._repo.claim_due(now, self.owner, limit, lease)
        for timer, fire_at in claimed:
            fired_at = datetime.now(UTC)
            await self._publisher.publish_event(fired_event(timer, fired_at))
            await self._repo.mark_fired(timer, self.owner, fired_at)
            self._metrics.fired.labels(timer.kind, timer.step, timer.department).inc()
            self._metrics.lag.observe(max(0.0, (fired_at - fire_at).total_seconds()))
        return len(claimed)

    async def _update_open_deadlines(self) -> None:
        """Refresh the open-deadlines gauge; a failure only leaves it stale."""
        try:
            counts = await self._repo.open_deadlines(datetime.now(UTC), OPEN_DEADLINE_HORIZONS)
        except Exception as exc:
            log.warning("sla_open_deadlines_failed", error=type(exc).__name__)
            return
        for (step, due_in), n in counts.items():
            self._metrics.open_deadlines.labels(step, due_in).set(n)

    async def scan_forever(self, interval_s: float, limit: int, lease_s: float) -> None:
        """Background loop; a failing scan is logged and retried at the next interval."""
        lease = timedelta(seconds=lease_s)
        next_gauge = 0.0
        while True:
            if asyncio.get_running_loop().time() >= next_gauge:
                next_gauge = asyncio.get_running_loop().time() + OPEN_DEADLINES_EVERY_S
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


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: SlaHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("sla_monitor"), prefetch=prefetch,
        parse=TicketDispatched.model_validate,
        handle=lambda event, _: handler.on_dispatched(event),
        description="ticket.dispatched events: schedule the order's SLA timers.",
    )
