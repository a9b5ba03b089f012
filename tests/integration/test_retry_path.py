"""A transient failure waits in a retry delay queue (TTL + dead-letter back to the work
queue), not in a consumer slot; it carries an attempt counter; an infrastructure failure
(StoreUnavailable) never counts against the poison limit; a message that keeps failing
otherwise ends as a stored rejection in the DLQ. Real RabbitMQ, real Mongo-protocol store."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from suqiu.shared.messaging import ATTEMPT_HEADER, RETRIES_HEADER, EventPublisher, ReliableConsumer
from suqiu.shared.metrics import ConsumerMetrics, new_registry
from suqiu.shared.store import Store, StoreUnavailable
from suqiu.shared.topology import Topology
from tests.e2e.helpers import eventually

pytestmark = pytest.mark.integration

TIERS = (100, 300)  # ms: short, so the test is quick; production uses seconds


@dataclass
class Harness:
    topology: Topology
    store: Store
    registry: Any
    seen: list[dict[str, Any]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def retried(self) -> float:
        return float(self.registry.get_sample_value(
            "suqiu_consumer_messages_total",
            {"service": "classifier", "queue": self.topology.work_queue("classifier").name,
             "outcome": "retried"}) or 0.0)


@asynccontextmanager
async def _start(amqp_url: str, mongo_url: str, namespace: str,
                 behaviour: Callable[[int], Exception | None]) -> AsyncIterator[Harness]:
    topology = Topology(namespace, retry_tiers_ms=TIERS)
    await topology.declare(amqp_url)
    store = Store(mongo_url, namespace)
    registry = new_registry()
    broker = RabbitBroker(amqp_url)
    publisher = EventPublisher(broker, topology)
    queue = topology.work_queue("classifier").name
    consumer = ReliableConsumer(service="classifier", queue=queue, store=store,
                                publisher=publisher, metrics=ConsumerMetrics(registry, "classifier"),
                                retry_tiers_ms=TIERS, retry_limit=3)
    h = Harness(topology, store, registry)

    async def handle(payload: Any, message: RabbitMessage) -> str:
        headers = dict(message.headers or {})
        h.seen.append({"attempt": headers.get(ATTEMPT_HEADER, 0),
                       "retries": headers.get(RETRIES_HEADER, 0), "at": time.monotonic()})
        exc = behaviour(len(h.seen))
        if exc is not None:
            raise exc
        h.done.set()
        return "ok"

    consumer.subscribe(broker, topology.consume_spec("classifier"), prefetch=4,
                       parse=lambda data: data, handle=handle, description="test")
    await broker.start()
    try:
        yield h
    finally:
        await broker.stop()
        await store.db.client.drop_database(namespace)
        await store.close()


async def _publish(amqp_url: str, topology: Topology) -> None:
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.events_exchange)
        await exchange.publish(aio_pika.Message(
            json.dumps({"n": 1}).encode(), message_id="m-1", content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key="ticket.received")
    finally:
        await conn.close()


async def _queue_count(amqp_url: str, name: str) -> int:
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        q = await channel.declare_queue(name, passive=True)
        return int(q.declaration_result.message_count or 0)
    finally:
        await conn.close()


async def test_transient_failures_come_back_after_a_delay_with_an_attempt_counter(
        amqp_url: str, mongo_url: str, namespace: str) -> None:
    fails = {1: RuntimeError("flaky"), 2: RuntimeError("flaky")}
    async with _start(amqp_url, mongo_url, namespace, lambda n: fails.get(n)) as h:
        await _publish(amqp_url, h.topology)
        await asyncio.wait_for(h.done.wait(), 30)
        assert [s["attempt"] for s in h.seen] == [0, 1, 2]
        assert [s["retries"] for s in h.seen] == [0, 1, 2]
        # each retry waited its tier (80-100 % of it, jitter), in the delay queue
        assert h.seen[1]["at"] - h.seen[0]["at"] >= 0.08
        assert h.seen[2]["at"] - h.seen[1]["at"] >= 0.24
        assert h.retried() == 2
        assert await _queue_count(amqp_url, h.topology.work_queue("classifier").dlq) == 0


async def test_store_outages_do_not_count_against_the_poison_limit(
        amqp_url: str, mongo_url: str, namespace: str) -> None:
    # Six store failures in a row, twice the poison limit of 3: the message still succeeds.
    async with _start(amqp_url, mongo_url, namespace,
                          lambda n: StoreUnavailable("down") if n <= 6 else None) as h:
        await _publish(amqp_url, h.topology)
        await asyncio.wait_for(h.done.wait(), 60)
        assert [s["attempt"] for s in h.seen] == [0] * 7
        assert h.seen[-1]["retries"] == 6
        assert await _queue_count(amqp_url, h.topology.work_queue("classifier").dlq) == 0


async def test_a_message_that_keeps_failing_is_rejected_as_poison(
        amqp_url: str, mongo_url: str, namespace: str) -> None:
    async with _start(amqp_url, mongo_url, namespace, lambda n: RuntimeError("bug")) as h:
        await _publish(amqp_url, h.topology)
        dlq = h.topology.work_queue("classifier").dlq
        assert await eventually(lambda: _queue_count(amqp_url, dlq), lambda c: c > 0) == 1
        assert len(h.seen) == 3  # the limit: three failures, then poison
        rec = await h.store.find_one(
            "rejected_messages", {"_id": f"{h.topology.work_queue('classifier').name}:m-1"})
        assert rec is not None and rec["reason"] == "retries_exhausted"
        assert rec["routing_key"] == "ticket.received"  # where it was first published
        conn = await aio_pika.connect(amqp_url)
        try:
            dead = await (await (await conn.channel()).get_queue(dlq)).get(no_ack=True)
            assert dead.headers["x-suqiu-original-routing-key"] == "ticket.received"
            assert dead.headers["x-suqiu-original-exchange"] == h.topology.events_exchange
        finally:
            await conn.close()
