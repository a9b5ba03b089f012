"""Keeps the console's read model in step with the orders: on every event, re-read the order
(by `_id`) and replace its index entries. Idempotent, so redeliveries and the start-up backfill
are harmless; a newer version is never overwritten by an older one."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import structlog
from faststream import AckPolicy
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QueueType

from suqiu.services.console.domain.readmodel import entries_for, summary
from suqiu.services.console.metrics import ConsoleMetrics
from suqiu.services.console.repository import ConsoleRepository
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.topology import Topology

__all__ = ["Projector", "register_projector"]

log = structlog.get_logger(__name__)


class Projector:
    def __init__(self, repo: ConsoleRepository, salt: str, metrics: ConsoleMetrics) -> None:
        self._repo = repo
        self._salt = salt
        self._metrics = metrics
        self._locks = [asyncio.Lock() for _ in range(64)]  # striped by ticket number

    async def project(self, ticket_no: str) -> WorkOrder | None:
        """Re-read the order and write its entries; one ticket at a time in this process, so
        an older read never overwrites a newer one."""
        async with self._lock(ticket_no):
            order = await self._repo.order(ticket_no)
            if order is not None:
                await self._write(order)
            return order

    async def project_order(self, order: WorkOrder) -> None:
        async with self._lock(order.ticket_no):
            await self._write(order)

    def _lock(self, ticket_no: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(ticket_no.encode()) % len(self._locks)]

    async def _write(self, order: WorkOrder) -> None:
        await self._repo.project(order.ticket_no, entries_for(order, self._salt), summary(order),
                                 order.version)
        self._metrics.projected.inc()

    async def backfill(self, pages: int = 20, page: int = 500) -> None:
        """Project the most recent orders (by `received_at`, indexed) once at start-up."""
        seen = 0
        async for order in self._repo.recent_orders(pages * page, page):
            await self.project_order(order)
            seen += 1
        log.info("console_backfilled", orders=seen)


def register_projector(broker: RabbitBroker, topology: Topology, projector: Projector) -> None:
    """The console's own queue on the events exchange (every event type)."""
    queue = RabbitQueue(f"{topology.namespace}.console.work", durable=True, routing_key="#",
                        queue_type=QueueType.QUORUM,
                        arguments={"x-delivery-limit": 20})
    exchange = RabbitExchange(topology.events_exchange, type=ExchangeType.TOPIC, durable=True)

    @broker.subscriber(queue, exchange, ack_policy=AckPolicy.NACK_ON_ERROR,
                       title="console.events")
    async def on_event(body: dict[str, Any]) -> None:
        ticket_no = body.get("ticket_no") if isinstance(body, dict) else None
        if isinstance(ticket_no, str) and ticket_no:
            await projector.project(ticket_no)
