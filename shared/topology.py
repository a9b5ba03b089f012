"""The RabbitMQ topology, declared in one place.

    channel systems --intake.<channel>--> [<ns>.intake]  (topic) --> <ns>.intake.work
    services        --<event type>-----> [<ns>.events]  (topic) --> <ns>.<service>.work
    department systems --command.<service>--> [<ns>.intake] (topic) --> <ns>.<service>.work
    every work queue --dead letters----> [<ns>.dlx]     (direct, key = work queue) --> <ns>.<service>.dlq
    a transient failure --key = work queue--> [<ns>.retry.<ms>] (fanout) --> <ns>.retry.<ms>
        (TTL <ms>, dead-lettered to the default exchange with the work queue's name as key:
        back to the work queue after the delay, without holding a consumer slot meanwhile)

Work queues are quorum queues with a delivery limit; a message that keeps failing is
dead-lettered by the broker (reason `delivery_limit`), and a message a service rejects as bad
input is republished to the DLQ by the service with machine-readable error headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faststream.rabbit import ExchangeType, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QueueType

__all__ = ["COMMAND_BINDINGS", "EVENT_BINDINGS", "EXTERNAL_BINDINGS", "SERVICES", "Topology",
           "WorkQueue", "bound_event_types"]

SERVICES: tuple[str, ...] = ("intake", "classifier", "dispatcher", "sla_monitor", "notifier",
                             "analytics")

# Which event types each service's work queue receives from the events exchange.
EVENT_BINDINGS: dict[str, tuple[str, ...]] = {
    "classifier": ("ticket.received",),
    "dispatcher": ("ticket.classified", "ticket.mass_incident"),
    "sla_monitor": ("ticket.received", "ticket.invalid", "ticket.triage_required",
                    "ticket.dispatched", "ticket.signed", "ticket.returned", "ticket.transferred",
                    "ticket.suspended", "ticket.resumed", "ticket.extension_approved",
                    "ticket.replied", "ticket.closed", "ticket.reopened",
                    "ticket.recategorised"),
    "notifier": ("ticket.received", "ticket.dispatched", "sla.warning", "sla.breached",
                 "sla.escalated", "ticket.urged", "ticket.replied", "ticket.revisit_requested",
                 "ticket.extension_approved", "ticket.invalid", "ticket.linked",
                 "ticket.escalated", "ticket.extension_requested", "ticket.triage_required"),
    # Facts come from the order's audit trail; these events say it changed (docs/reports.md).
    "analytics": ("ticket.invalid", "ticket.classified", "ticket.dispatched", "ticket.signed",
                  "ticket.returned", "ticket.transferred", "ticket.resumed",
                  "ticket.extension_approved", "ticket.replied", "ticket.closed",
                  "ticket.reopened", "ticket.linked", "analytics.hotspot"),
}

# Event types read by systems outside the five services: each gets its own durable queue
# `<ns>.external.<name>` (no dead-letter path: the outside system owns it). Every routing key
# a service publishes must be bound here or in EVENT_BINDINGS / COMMAND_BINDINGS; publishes
# are mandatory, and a return is counted in `suqiu_unroutable_total`.
EXTERNAL_BINDINGS: dict[str, tuple[str, ...]] = {}

# Commands from department systems: published to the intake exchange with these routing keys.
COMMAND_BINDINGS: dict[str, tuple[str, ...]] = {
    "dispatcher": ("command.dispatcher",),
}


def bound_event_types() -> frozenset[str]:
    """Every event routing key some queue is bound to on the events exchange."""
    return frozenset(k for keys in (*EVENT_BINDINGS.values(), *EXTERNAL_BINDINGS.values())
                     for k in keys)


@dataclass(frozen=True)
class WorkQueue:
    """A service's work queue, where it is bound, and its dead-letter queue."""

    service: str
    name: str
    dlq: str
    exchange: str
    binding_keys: tuple[str, ...] = field(default_factory=tuple)
    command_keys: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Topology:
    """All names for one namespace; `declare` makes them exist on the broker."""

    namespace: str = "suqiu"
    queue_type: str = "quorum"
    delivery_limit: int = 5
    retry_tiers_ms: tuple[int, ...] = (1000, 5000, 30000)

    @property
    def intake_exchange(self) -> str:
        return f"{self.namespace}.intake"

    @property
    def events_exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dlx"

    @staticmethod
    def intake_routing_key(channel: str) -> str:
        """Routing key a channel system publishes with."""
        return f"intake.{channel}"

    def retry_exchange(self, delay_ms: int) -> str:
        """Exchange and queue of one retry delay tier (shared by every service)."""
        return f"{self.namespace}.retry.{delay_ms}"

    def retry_tier(self, attempt: int) -> int:
        """The delay tier (ms) of the `attempt`-th retry (1-based); the last tier repeats."""
        return self.retry_tiers_ms[min(max(attempt, 1), len(self.retry_tiers_ms)) - 1]

    async def _declare_retry(self, channel: Any) -> None:
        import aio_pika

        for delay in self.retry_tiers_ms:
            name = self.retry_exchange(delay)
            exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.FANOUT,
                                                      durable=True)
            queue = await channel.declare_queue(name, durable=True, arguments={
                "x-message-ttl": delay, "x-dead-letter-exchange": ""})
            await queue.bind(exchange)

    async def _delete_retry(self, channel: Any) -> None:
        for delay in self.retry_tiers_ms:
            await channel.queue_delete(self.retry_exchange(delay))
            await channel.exchange_delete(self.retry_exchange(delay))

    def work_queue(self, service: str) -> WorkQueue:
        """The work queue of one service."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        name = f"{self.namespace}.{service}.work"
        if service == "intake":
            return WorkQueue(service, name, f"{self.namespace}.{service}.dlq",
                             self.intake_exchange, ("intake.*",))
        return WorkQueue(service, name, f"{self.namespace}.{service}.dlq",
                         self.events_exchange, EVENT_BINDINGS[service],
                         COMMAND_BINDINGS.get(service, ()))

    def external_queue(self, name: str) -> str:
        return f"{self.namespace}.external.{name}"

    def work_queues(self) -> list[WorkQueue]:
        return [self.work_queue(s) for s in SERVICES]

    def exchange(self, name: str) -> RabbitExchange:
        """A reference to an already declared exchange (for publishing)."""
        kind = ExchangeType.DIRECT if name == self.dead_letter_exchange else ExchangeType.TOPIC
        return RabbitExchange(name, type=kind, durable=True, declare=False)

    def queue_spec(self, wq: WorkQueue) -> RabbitQueue:
        """The work queue with its dead-letter and delivery-limit arguments."""
        args: dict[str, object] = {
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": wq.name,
        }
        if self.queue_type == "quorum":
            args["x-delivery-limit"] = self.delivery_limit
            return RabbitQueue(wq.name, queue_type=QueueType.QUORUM, durable=True,  # type: ignore[call-overload]
                               arguments=args)
        return RabbitQueue(wq.name, queue_type=QueueType.CLASSIC, durable=True,  # type: ignore[call-overload]
                           arguments=args)

    def consume_spec(self, service: str) -> RabbitQueue:
        """What a subscriber passes to FastStream: the queue, already declared by `declare`."""
        spec = self.queue_spec(self.work_queue(service))
        spec.declare = False
        return spec

    def dlq_spec(self, wq: WorkQueue) -> RabbitQueue:
        kind = QueueType.QUORUM if self.queue_type == "quorum" else QueueType.CLASSIC
        return RabbitQueue(wq.dlq, queue_type=kind, durable=True)  # type: ignore[call-overload]

    async def delete(self, amqp_url: str) -> None:
        """Remove every queue and exchange of this namespace (tests and teardown tools)."""
        import aio_pika

        conn = await aio_pika.connect(amqp_url)
        try:
            channel = await conn.channel()
            for wq in self.work_queues():
                for name in (wq.name, wq.dlq):
                    await channel.queue_delete(name)
            for name in EXTERNAL_BINDINGS:
                await channel.queue_delete(self.external_queue(name))
            for name in (self.intake_exchange, self.events_exchange, self.dead_letter_exchange):
                await channel.exchange_delete(name)
            await self._delete_retry(channel)
        finally:
            await conn.close()

    async def declare(self, amqp_url: str) -> None:
        """Idempotently declare exchanges, work queues, DLQs and bindings.

        Uses its own short-lived connection on purpose: FastStream caches queue objects by
        queue spec, so declaring through the broker first would make the subscribers reuse
        the declaring channel and lose their own channel's prefetch (QoS).
        """
        import aio_pika

        conn = await aio_pika.connect(amqp_url)
        try:
            channel = await conn.channel()
            declared = {}
            for name, kind in (
                (self.intake_exchange, aio_pika.ExchangeType.TOPIC),
                (self.events_exchange, aio_pika.ExchangeType.TOPIC),
                (self.dead_letter_exchange, aio_pika.ExchangeType.DIRECT),
            ):
                declared[name] = await channel.declare_exchange(name, kind, durable=True)
            for wq in self.work_queues():
                spec = self.queue_spec(wq)
                queue = await channel.declare_queue(wq.name, durable=True,
                                                    arguments=spec.arguments)
                for key in wq.binding_keys:
                    await queue.bind(declared[wq.exchange], routing_key=key)
                for key in wq.command_keys:
                    await queue.bind(declared[self.intake_exchange], routing_key=key)
                dlq = await channel.declare_queue(wq.dlq, durable=True,
                                                  arguments=self.dlq_spec(wq).arguments)
                await dlq.bind(declared[self.dead_letter_exchange], routing_key=wq.name)
            await self._declare_retry(channel)
            for name, keys in EXTERNAL_BINDINGS.items():
                queue = await channel.declare_queue(self.external_queue(name), durable=True)
                for key in keys:
                    await queue.bind(declared[self.events_exchange], routing_key=key)
        finally:
            await conn.close()
