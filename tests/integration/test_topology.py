"""The RabbitMQ topology on a real broker: declaration, routing, quorum queues, dead letters."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import ChannelPreconditionFailed

from suqiu.shared.topology import SERVICES, Topology
from tests.integration.helpers import TIMEOUT, get_message

pytestmark = pytest.mark.integration


@pytest.fixture
async def declared(amqp_url: str, namespace: str) -> AsyncIterator[Topology]:
    """The namespace's topology declared twice, as two replicas starting would."""
    topology = Topology(namespace)
    await topology.declare(amqp_url)
    await topology.declare(amqp_url)  # every replica declares at start: must be idempotent
    yield topology


@pytest.fixture
async def channel(amqp_url: str) -> AsyncIterator[AbstractChannel]:
    conn = await aio_pika.connect(amqp_url)
    try:
        yield await conn.channel(publisher_confirms=True)
    finally:
        await conn.close()


async def _publish(channel: AbstractChannel, exchange: str, routing_key: str,
                   body: dict[str, object]) -> None:
    ex = await channel.get_exchange(exchange)
    await ex.publish(aio_pika.Message(json.dumps(body).encode(),
                                      delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                     routing_key=routing_key)


async def _queue(channel: AbstractChannel, name: str) -> AbstractQueue:
    return await channel.declare_queue(name, passive=True)


async def test_declare_creates_every_queue_and_exchange(
    declared: Topology, channel: AbstractChannel,
) -> None:
    for name in (declared.intake_exchange, declared.events_exchange,
                 declared.dead_letter_exchange):
        await channel.get_exchange(name)  # passive: raises when missing
    for wq in declared.work_queues():
        for name in (wq.name, wq.dlq):
            queue = await _queue(channel, name)
            assert queue.declaration_result.message_count == 0
    assert {wq.service for wq in declared.work_queues()} == set(SERVICES)


async def test_redeclare_keeps_queued_messages(
    amqp_url: str, declared: Topology, channel: AbstractChannel,
) -> None:
    await _publish(channel, declared.intake_exchange, "intake.web", {"n": 1})
    await declared.declare(amqp_url)

    msg = await get_message(await _queue(channel, declared.work_queue("intake").name))
    assert msg is not None and json.loads(msg.body) == {"n": 1}


async def test_intake_routing_key_lands_in_intake_work_queue(
    declared: Topology, channel: AbstractChannel,
) -> None:
    await _publish(channel, declared.intake_exchange, Topology.intake_routing_key("web"),
                   {"channel": "web"})

    msg = await get_message(await _queue(channel, f"{declared.namespace}.intake.work"))

    assert msg is not None and json.loads(msg.body) == {"channel": "web"}
    assert msg.routing_key == "intake.web"
    for service in SERVICES[1:]:
        other = await _queue(channel, declared.work_queue(service).name)
        assert await other.get(no_ack=True, fail=False) is None


async def test_ticket_received_goes_to_classifier_notifier_and_sla_monitor_only(
    declared: Topology, channel: AbstractChannel,
) -> None:
    await _publish(channel, declared.events_exchange, "ticket.received",
                   {"type": "ticket.received", "ticket_no": "SQ-20261123-000001"})

    # the SLA monitor starts the first-response clock at intake (docs/sla.md)
    for service in ("classifier", "notifier", "sla_monitor"):
        msg = await get_message(await _queue(channel, f"{declared.namespace}.{service}.work"))
        assert msg is not None, f"{service} did not receive ticket.received"
        assert json.loads(msg.body)["ticket_no"] == "SQ-20261123-000001"
    # Routing is decided on publish (confirmed), so absent now means never delivered.
    for service in ("dispatcher", "intake"):
        queue = await _queue(channel, declared.work_queue(service).name)
        assert queue.declaration_result.message_count == 0
        assert await queue.get(no_ack=True, fail=False) is None


async def test_work_queues_are_quorum_queues_with_delivery_limit(
    amqp_url: str, declared: Topology,
) -> None:
    """A redeclaration is accepted only with the very same arguments, so the broker confirms
    what the queues are: every argument here matches, and changing one is refused."""
    conn = await aio_pika.connect(amqp_url)
    try:
        for wq in declared.work_queues():
            args: dict[str, Any] = {
                "x-queue-type": "quorum",
                "x-delivery-limit": declared.delivery_limit,
                "x-dead-letter-exchange": declared.dead_letter_exchange,
                "x-dead-letter-routing-key": wq.name,
            }
            ch = await conn.channel()
            await ch.declare_queue(wq.name, durable=True, arguments=args)
            await ch.declare_queue(wq.dlq, durable=True, arguments={"x-queue-type": "quorum"})
            for key, other in (("x-queue-type", "classic"),
                               ("x-delivery-limit", declared.delivery_limit + 1)):
                ch = await conn.channel()
                with pytest.raises(ChannelPreconditionFailed, match=key):
                    await ch.declare_queue(wq.name, durable=True,
                                           arguments={**args, key: other})
    finally:
        await conn.close()


async def test_message_failing_past_delivery_limit_is_dead_lettered(
    declared: Topology, channel: AbstractChannel,
) -> None:
    wq = declared.work_queue("intake")
    await _publish(channel, declared.intake_exchange, "intake.web", {"poison": True})
    work = await _queue(channel, wq.name)
    dlq = await _queue(channel, wq.dlq)

    deliveries = 0
    dead: AbstractIncomingMessage | None = None
    deadline = time.monotonic() + TIMEOUT
    while dead is None and time.monotonic() < deadline:
        msg = await work.get(no_ack=False, fail=False)
        if msg is not None:
            deliveries += 1
            await msg.nack(requeue=True)
        dead = await dlq.get(no_ack=True, fail=False)
        if msg is None and dead is None:
            await asyncio.sleep(0.05)

    assert dead is not None, f"not dead-lettered after {deliveries} deliveries"
    assert deliveries == declared.delivery_limit + 1
    assert json.loads(dead.body) == {"poison": True}
    headers = dead.headers or {}
    assert headers.get("x-first-death-reason") == "delivery_limit"
    assert headers.get("x-first-death-queue") == wq.name
    assert await work.get(no_ack=True, fail=False) is None


async def test_every_event_type_is_routed_and_an_unbound_key_is_counted(
    declared: Topology, amqp_url: str,
) -> None:
    """Mandatory publishes of every event type of the contract reach a queue; a key nobody
    binds comes back from the broker and is counted in suqiu_unroutable_total."""
    from faststream.rabbit import RabbitBroker
    from prometheus_client import CollectorRegistry

    from suqiu.shared.contracts import PendingEvent
    from suqiu.shared.messaging import EventPublisher
    from suqiu.shared.outbox import COMMAND_ROUTING_KEY
    from tests.unit.test_event_routing import _event_classes, _type_of

    broker = RabbitBroker(amqp_url)
    await broker.connect()
    registry = CollectorRegistry()
    publisher = EventPublisher(broker, declared, registry)
    try:
        routed = {}
        for cls in _event_classes().values():
            key = _type_of(cls)
            routed[key] = await publisher.publish_pending(
                PendingEvent(event_id=f"probe:{key}", routing_key=key, body="{}"), "probe")
        routed[COMMAND_ROUTING_KEY] = await publisher.publish_pending(
            PendingEvent(event_id="probe:cmd", exchange="intake",
                         routing_key=COMMAND_ROUTING_KEY, body="{}"), "probe")
        assert all(routed.values()), [k for k, ok in routed.items() if not ok]
        assert not await publisher.publish_pending(
            PendingEvent(event_id="probe:x", routing_key="ticket.nobody_hears", body="{}"), "p")
        assert registry.get_sample_value("suqiu_unroutable_total", {
            "exchange": declared.events_exchange, "routing_key": "ticket.nobody_hears"}) == 1
    finally:
        await broker.stop()
