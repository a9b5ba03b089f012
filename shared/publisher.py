"""Publishing: persistent, mandatory, broker-confirmed messages to the topology's exchanges."""

from __future__ import annotations

from typing import Any

import structlog
from aiormq.abc import DeliveredMessage
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel

from suqiu.shared.contracts import PendingEvent
from suqiu.shared.topology import Topology

__all__ = ["EventPublisher"]

log = structlog.get_logger(__name__)


class EventPublisher:
    """Publishes persistent, mandatory, broker-confirmed messages to the topology's exchanges.

    A message no queue is bound for comes back (`basic.return`): it is counted in
    `suqiu_unroutable_total{exchange,routing_key}` and logged, since an event nobody hears
    is a bug of the topology (shared/topology.py), not something a retry would cure.
    """

    def __init__(self, broker: RabbitBroker, topology: Topology,
                 registry: CollectorRegistry | None = None) -> None:
        self._broker = broker
        self._topology = topology
        self.unroutable = Counter(
            "suqiu_unroutable_total",
            "Published messages the broker returned because no queue is bound for them.",
            ["exchange", "routing_key"], registry=registry if registry is not None
            else CollectorRegistry())

    def _exchange_name(self, logical: str) -> str:
        return {"events": self._topology.events_exchange,
                "intake": self._topology.intake_exchange,
                "dlx": self._topology.dead_letter_exchange}[logical]

    async def publish_event(self, event: BaseModel) -> bool:
        """Publish one event now, outside any outbox (events that change no order)."""
        from suqiu.shared.outbox import entry_for

        return await self.publish_pending(entry_for(event),
                                          event.ticket_no)  # type: ignore[attr-defined]

    async def publish_pending(self, entry: PendingEvent, ticket_no: str | None) -> bool:
        """Publish an outbox entry; routing key = event type, message id = event id.

        Returns False when the broker returned it as unroutable (counted)."""
        exchange = self._exchange_name(entry.exchange)
        result = await self._broker.publish(
            entry.body.encode(),
            exchange=self._topology.exchange(exchange),
            routing_key=entry.routing_key,
            message_id=entry.event_id,
            # The consumed message's correlation id travels on, so one complaint's log lines
            # share it across every service (None outside a handler: FastStream makes one).
            correlation_id=structlog.contextvars.get_contextvars().get("correlation_id"),
            content_type="application/json",
            headers={"x-suqiu-ticket-no": ticket_no} if ticket_no else None,
            persist=True,
            mandatory=True,
        )
        return self._routed(result, exchange, entry.routing_key)

    async def publish_retry(
        self, delay_ms: int, queue: str, body: bytes, headers: dict[str, Any],
        message: RabbitMessage, expiration_ms: int,
    ) -> None:
        """A copy of `message` into the retry tier `delay_ms`, back in `queue` after
        `expiration_ms` (confirmed before this returns)."""
        raw = message.raw_message
        await self._broker.publish(
            body,
            exchange=self._topology.exchange(self._topology.retry_exchange(delay_ms)),
            routing_key=queue,
            headers=headers,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            content_type=raw.content_type or "application/json",
            expiration=expiration_ms / 1000,
            persist=True,
            mandatory=False,
        )

    async def publish_dead_letter(
        self, queue: str, body: bytes, headers: dict[str, Any], message_id: str | None,
    ) -> None:
        exchange = self._topology.dead_letter_exchange
        result = await self._broker.publish(
            body,
            exchange=self._topology.exchange(exchange),
            routing_key=queue,
            headers=headers,
            message_id=message_id,
            persist=True,
            mandatory=True,
        )
        self._routed(result, exchange, queue)

    def _routed(self, result: Any, exchange: str, routing_key: str) -> bool:
        if isinstance(result, DeliveredMessage):  # basic.return instead of a confirmation
            self.unroutable.labels(exchange, routing_key).inc()
            log.error("message_unroutable", exchange=exchange, routing_key=routing_key)
            return False
        return True
