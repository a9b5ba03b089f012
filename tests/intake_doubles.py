"""An in-memory store for intake's tests (unit, property and component level).

Implements the few Store operations intake and the acknowledgement policy use, with the
unique indexes (`_id`, tickets' `intake_key`) and optimistic versions enforced.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faststream.rabbit.annotations import RabbitMessage

from suqiu.shared.contracts import WorkOrder
from suqiu.shared.store import DuplicateKey, VersionConflict

__all__ = ["DirectIntake", "MemoryStore", "TestIntake", "build_direct_intake", "build_test_intake"]


def _matches(doc: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    for key, cond in flt.items():
        value = doc.get(key)
        if isinstance(cond, dict):
            if "$gte" in cond and (value is None or value < cond["$gte"]):
                return False
            if "$lte" in cond and (value is None or value > cond["$lte"]):
                return False
        elif value != cond:
            return False
    return True


class _Cursor:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self._docs = docs

    def sort(self, key: str, direction: int) -> _Cursor:
        self._docs.sort(key=lambda d: d.get(key) or datetime.min, reverse=direction < 0)
        return self

    def limit(self, n: int) -> _Cursor:
        self._docs = self._docs[:n]
        return self

    def __aiter__(self) -> Any:
        async def gen() -> Any:
            for d in self._docs:
                yield d
        return gen()


class _Collection:
    def __init__(self, docs: dict[Any, dict[str, Any]]) -> None:
        self._docs = docs

    def find(self, flt: Mapping[str, Any]) -> _Cursor:
        return _Cursor([dict(d) for d in self._docs.values() if _matches(d, flt)])


class MemoryStore:
    def __init__(self) -> None:
        self.collections: dict[str, dict[Any, dict[str, Any]]] = {}
        self.counters: dict[str, int] = {}

    def docs(self, collection: str) -> list[dict[str, Any]]:
        return list(self.collections.get(collection, {}).values())

    def collection(self, name: str) -> _Collection:
        return _Collection(self.collections.setdefault(name, {}))

    async def insert(self, collection: str, doc: Mapping[str, Any]) -> None:
        coll = self.collections.setdefault(collection, {})
        if doc["_id"] in coll:
            raise DuplicateKey(f"{collection}: _id {doc['_id']!r}")
        if collection == "tickets" and any(d["intake_key"] == doc["intake_key"] for d in coll.values()):
            raise DuplicateKey(f"tickets: intake_key {doc['intake_key']!r}")
        coll[doc["_id"]] = dict(doc)

    async def find_one(self, collection: str, flt: Mapping[str, Any]) -> dict[str, Any] | None:
        for d in self.collections.get(collection, {}).values():
            if _matches(d, flt):
                return dict(d)
        return None

    async def find(self, collection: str, flt: Mapping[str, Any], *,
                   sort: list[tuple[str, int]] | None = None, limit: int,
                   projection: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        docs = [dict(d) for d in self.collections.get(collection, {}).values() if _matches(d, flt)]
        for key, direction in reversed(sort or []):
            docs.sort(key=lambda d: d.get(key) or "", reverse=direction < 0)
        return docs[:limit]

    async def next_sequence(self, name: str, block: int = 1) -> int:
        self.counters[name] = self.counters.get(name, 0) + block
        return self.counters[name]

    async def find_ticket_by_intake_key(self, intake_key: str) -> WorkOrder | None:
        doc = await self.find_one("tickets", {"intake_key": intake_key})
        return WorkOrder.from_document(doc) if doc else None

    async def get_ticket(self, ticket_no: str) -> WorkOrder | None:
        doc = await self.find_one("tickets", {"_id": ticket_no})
        return WorkOrder.from_document(doc) if doc else None

    async def insert_ticket(self, order: WorkOrder) -> None:
        await self.insert("tickets", order.to_document())

    async def save_ticket(self, order: WorkOrder, *, expected_version: int,
                          outbox_rev: int | None = None) -> WorkOrder:
        coll = self.collections.setdefault("tickets", {})
        current = coll.get(order.ticket_no)
        if current is None or current["version"] != expected_version or (
                outbox_rev is not None and current.get("outbox_rev", 0) != outbox_rev):
            raise VersionConflict(order.ticket_no)
        coll[order.ticket_no] = order.to_document()
        return order

    async def mark_sent(self, ticket_no: str, keys: Any) -> None:
        doc = self.collections.setdefault("tickets", {}).get(ticket_no)
        if doc is not None:
            doc["outbox"] = {k: v for k, v in (doc.get("outbox") or {}).items() if k not in keys}
            doc["outbox_rev"] = doc.get("outbox_rev", 0) + 1


@dataclass
class TestIntake:
    """The intake service wired like app.py on FastStream's in-memory broker and MemoryStore."""

    __test__ = False  # not a pytest test class

    broker: Any
    topology: Any
    store: MemoryStore
    registry: Any
    handler: Any
    events: list[Any] = field(default_factory=list)
    dead_letters: list[Any] = field(default_factory=list)

    @property
    def queue(self) -> str:
        return str(self.topology.work_queue("intake").name)

    async def deliver(self, body: bytes, **options: Any) -> None:
        """Deliver one message to the intake work queue (the in-memory broker has no bindings)."""
        await self.broker.publish(body, queue=self.queue, **options)

    def sample(self, name: str, **labels: str) -> float:
        return float(self.registry.get_sample_value(name, labels) or 0.0)

    def event_types(self) -> list[str]:
        return [json.loads(m.body)["type"] for m in self.events]


def build_test_intake(settings: Any = None, clock: Any = None) -> TestIntake:
    """Wire the service; use inside `async with TestRabbitBroker(service.broker)`."""
    from faststream.rabbit import RabbitBroker, RabbitQueue

    from suqiu.services.intake.consumer import IntakeConsumer
    from suqiu.services.intake.handlers import IntakeHandler, register
    from suqiu.services.intake.metrics import IntakeMetrics
    from suqiu.services.intake.repository import IntakeRepository
    from suqiu.services.intake.settings import IntakeSettings
    from suqiu.shared.messaging import EventPublisher, ReliableConsumer
    from suqiu.shared.metrics import ConsumerMetrics, new_registry
    from suqiu.shared.topology import Topology

    topology = Topology(namespace=f"t{uuid.uuid4().hex[:10]}")
    broker = RabbitBroker()
    store = MemoryStore()
    registry = new_registry()
    publisher = EventPublisher(broker, topology)
    base = ReliableConsumer(service="intake", queue=topology.work_queue("intake").name,
                            store=store, publisher=publisher,  # type: ignore[arg-type]
                            metrics=ConsumerMetrics(registry, "intake"),
                            backoff_base=0.001, backoff_cap=0.01)
    metrics = IntakeMetrics(registry)
    repo = IntakeRepository(store, "SQ", "Asia/Shanghai")  # type: ignore[arg-type]
    kwargs = {"clock": clock} if clock else {}
    handler = IntakeHandler(repo, publisher, metrics, settings or IntakeSettings(), **kwargs)
    register(IntakeConsumer(base, metrics), broker, topology, handler, prefetch=10)
    service = TestIntake(broker, topology, store, registry, handler)
    wq = topology.work_queue("intake")

    @broker.subscriber(RabbitQueue(f"{topology.namespace}.tap.events", routing_key="#"),
                       exchange=topology.exchange(topology.events_exchange))
    async def tap_events(message: RabbitMessage) -> None:
        service.events.append(message)

    @broker.subscriber(RabbitQueue(wq.dlq, routing_key=wq.name),
                       exchange=topology.exchange(topology.dead_letter_exchange))
    async def tap_dlq(message: RabbitMessage) -> None:
        service.dead_letters.append(message)

    return service


class RecordingPublisher:
    """Stands in for EventPublisher: keeps events and dead letters in lists."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.dead_letters: list[tuple[str, bytes, dict[str, Any], str | None]] = []

    async def publish_event(self, event: Any) -> None:
        self.events.append(event)

    async def publish_pending(self, entry: Any, ticket_no: str) -> bool:
        from suqiu.shared.contracts import EVENT_ADAPTER

        self.events.append(EVENT_ADAPTER.validate_json(entry.body))
        return True

    async def publish_dead_letter(self, queue: str, body: bytes, headers: dict[str, Any],
                                  message_id: str | None) -> None:
        self.dead_letters.append((queue, body, headers, message_id))


@dataclass
class _Raw:
    message_id: str | None
    routing_key: str
    correlation_id: str | None = None


@dataclass
class FakeDelivery:
    """The parts of a consumed RabbitMessage the acknowledgement policy touches."""

    body: bytes
    raw_message: _Raw
    headers: dict[str, Any] = field(default_factory=dict)
    acked: bool = False
    nacked: bool = False

    async def ack(self) -> None:
        self.acked = True

    async def nack(self, requeue: bool = True) -> None:
        self.nacked = True


@dataclass
class DirectIntake:
    """The intake subscriber's policy and handler without a broker: fast enough for thousands
    of messages in a property test. `deliver` runs exactly what the subscriber runs."""

    __test__ = False

    consumer: Any
    handler: Any
    store: MemoryStore
    publisher: RecordingPublisher
    registry: Any

    async def deliver(self, body: bytes, message_id: str | None,
                      routing_key: str = "intake.web") -> FakeDelivery:
        from suqiu.services.intake.errors import parse_intake_message

        delivery = FakeDelivery(body, _Raw(message_id, routing_key))
        await self.consumer.run(delivery, parse_intake_message,
                                lambda msg: self.handler.handle(msg, body))
        return delivery

    def sample(self, name: str, **labels: str) -> float:
        return float(self.registry.get_sample_value(name, labels) or 0.0)


def build_direct_intake(settings: Any = None) -> DirectIntake:
    from suqiu.services.intake.consumer import IntakeConsumer
    from suqiu.services.intake.handlers import IntakeHandler
    from suqiu.services.intake.metrics import IntakeMetrics
    from suqiu.services.intake.repository import IntakeRepository
    from suqiu.services.intake.settings import IntakeSettings
    from suqiu.shared.messaging import ReliableConsumer
    from suqiu.shared.metrics import ConsumerMetrics, new_registry

    store, publisher, registry = MemoryStore(), RecordingPublisher(), new_registry()
    base = ReliableConsumer(service="intake", queue="direct.intake.work", store=store,  # type: ignore[arg-type]
                            publisher=publisher,  # type: ignore[arg-type]
                            metrics=ConsumerMetrics(registry, "intake"),
                            backoff_base=0.001, backoff_cap=0.01)
    metrics = IntakeMetrics(registry)
    repo = IntakeRepository(store, "SQ", "Asia/Shanghai")  # type: ignore[arg-type]
    handler = IntakeHandler(repo, publisher, metrics, settings or IntakeSettings())  # type: ignore[arg-type]
    return DirectIntake(IntakeConsumer(base, metrics), handler, store, publisher, registry)
