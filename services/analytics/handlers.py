"""Analytics subscriber: every lifecycle event recounts its order's facts (only the new ones)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from suqiu.services.analytics.domain.facts import Fact, Limits, dims_of, order_facts
from suqiu.services.analytics.domain.keys import increments
from suqiu.services.analytics.domain.retention import archive_due
from suqiu.services.analytics.metrics import AnalyticsMetrics
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.shared.contracts import EVENT_ADAPTER, TicketLinked, TicketStatus
from suqiu.shared.contracts.analytics import AnalyticsHotspot
from suqiu.shared.messaging import ReliableConsumer
from suqiu.shared.store import DuplicateKey
from suqiu.shared.topology import Topology

__all__ = ["AnalyticsHandler", "hotspot_doc", "parse", "register"]

log = structlog.get_logger(__name__)
MAX_RACES = 5


class OrderNotVisible(Exception):
    """The event's order is not (yet) in the store: retried, then dead-lettered."""


class AnalyticsHandler:
    def __init__(self, repo: AnalyticsRepository, limits: Limits, metrics: AnalyticsMetrics,
                 archive_after: timedelta | None = None) -> None:
        self._repo = repo
        self._limits = limits
        self._metrics = metrics
        self._archive_after = archive_after

    async def on_event(self, event: BaseModel) -> str:
        if isinstance(event, AnalyticsHotspot):
            return "ok" if await self._repo.record_hotspot(hotspot_doc(event)) else "duplicate"
        ticket_no: str = event.ticket_no  # type: ignore[attr-defined]
        structlog.contextvars.bind_contextvars(ticket_no=ticket_no)
        order = await self._repo.order(ticket_no)
        if order is None:
            raise OrderNotVisible(ticket_no)
        if isinstance(event, TicketLinked):
            day = event.occurred_at.astimezone(self._limits.tz).date().isoformat()
            fact = Fact(day, dims_of(order), "repeat", ticket_no)
            try:
                await self._repo.count_event(event.event_id, increments([fact]))
            except DuplicateKey:
                return "duplicate"
            self._metrics.facts.labels("repeat").inc()
            return "ok"
        facts = order_facts(order, self._limits)
        for _ in range(MAX_RACES):
            before = await self._repo.counted(ticket_no)
            if len(facts) <= before:
                return "duplicate"
            new = facts[before:]
            try:
                await self._repo.count(ticket_no, before, len(facts), increments(new))
                break
            except DuplicateKey:
                # Another event of the same order counted meanwhile: look again.
                order = await self._repo.order(ticket_no) or order
                facts = order_facts(order, self._limits)
        else:
            raise RuntimeError(f"{ticket_no}: lost {MAX_RACES} counting races, retrying later")
        for f in new:
            self._metrics.facts.labels(f.counter).inc()
        if self._archive_after is not None and order.status is TicketStatus.CLOSED and any(
                f.counter == "resolved" for f in new):
            closed_at = max(e.at for e in order.history if e.to_status is TicketStatus.CLOSED)
            await self._repo.schedule_archive(ticket_no, archive_due(closed_at, self._archive_after))
        return "ok"


def hotspot_doc(e: AnalyticsHotspot) -> dict[str, Any]:
    return {"_id": e.event_id, **e.model_dump(mode="python", exclude={"event_id", "type"})}


def parse(body: Any) -> BaseModel:
    if isinstance(body, dict) and body.get("type") == "analytics.hotspot":
        return AnalyticsHotspot.model_validate(body)
    return EVENT_ADAPTER.validate_python(body)  # type: ignore[return-value]


def register(consumer: ReliableConsumer, broker: RabbitBroker, topology: Topology,
             handler: AnalyticsHandler, prefetch: int) -> None:
    consumer.subscribe(
        broker, topology.consume_spec("analytics"), prefetch=prefetch, parse=parse,
        handle=lambda event, _: handler.on_event(event),
        description="Lifecycle events: count each order's new facts into the aggregates; "
                    "analytics.hotspot: keep the hotspot for the console and reports.",
        schema=AnalyticsHotspot,
    )

