"""The intake service under FastStream's in-memory broker, with an in-memory store fake.

Exercises the shared acknowledgement policy (`ReliableConsumer`) end to end inside one
service: valid envelopes are stored, announced and acked; bad input is recorded with field
errors, dead-lettered and acked (never retried); transient failures are nacked for redelivery;
a message delivered twice creates one ticket.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from faststream import BaseMiddleware
from faststream.message import AckStatus, StreamMessage
from faststream.rabbit import RabbitBroker, RabbitQueue, TestRabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from prometheus_client import CollectorRegistry

from suqiu.services.intake.handlers import IntakeHandler, register
from suqiu.services.intake.metrics import IntakeMetrics
from suqiu.services.intake.repository import IntakeRepository
from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.contracts import EVENT_ADAPTER, TicketReceived, WorkOrder
from suqiu.shared.messaging import (
    ERROR_DETAIL_HEADER,
    ERROR_REASON_HEADER,
    ORIGINAL_QUEUE_HEADER,
    EventPublisher,
    ReliableConsumer,
)
from suqiu.shared.metrics import ConsumerMetrics, new_registry
from suqiu.shared.store import DuplicateKey, StoreUnavailable
from suqiu.shared.ticket_numbers import parse_ticket_no
from suqiu.shared.topology import Topology
from tests.factories import envelope_payload

pytestmark = pytest.mark.component


class FakeStore:
    """The few Store operations intake uses, in memory, with the unique indexes enforced."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[Any, dict[str, Any]]] = {}
        self.counters: dict[str, int] = {}
        self.fail_inserts = 0  # the next N inserts raise StoreUnavailable
        self.hide_lookups = 0  # the next N intake-key lookups miss (a concurrent writer)

    async def insert(self, collection: str, doc: Mapping[str, Any]) -> None:
        if self.fail_inserts:
            self.fail_inserts -= 1
            raise StoreUnavailable("connection reset")
        coll = self.collections.setdefault(collection, {})
        if doc["_id"] in coll:
            raise DuplicateKey(f"{collection}: _id {doc['_id']!r}")
        if collection == "tickets" and any(
                d["intake_key"] == doc["intake_key"] for d in coll.values()):
            raise DuplicateKey(f"tickets: intake_key {doc['intake_key']!r}")
        coll[doc["_id"]] = dict(doc)

    async def find_one(self, collection: str, flt: Mapping[str, Any]) -> dict[str, Any] | None:
        docs = self.collections.get(collection, {}).values()
        return next((dict(d) for d in docs if all(d.get(k) == v for k, v in flt.items())), None)

    async def next_sequence(self, name: str, block: int = 1) -> int:
        self.counters[name] = self.counters.get(name, 0) + block
        return self.counters[name]

    async def find_ticket_by_intake_key(self, intake_key: str) -> WorkOrder | None:
        if self.hide_lookups:
            self.hide_lookups -= 1
            return None
        for doc in self.collections.get("tickets", {}).values():
            if doc["intake_key"] == intake_key:
                return WorkOrder.from_document(doc)
        return None

    async def insert_ticket(self, order: WorkOrder) -> None:
        await self.insert("tickets", order.to_document())

    async def mark_sent(self, ticket_no: str, keys: Any) -> None:
        doc = self.collections.get("tickets", {}).get(ticket_no)
        if doc is not None:
            doc["outbox"] = {k: v for k, v in (doc.get("outbox") or {}).items() if k not in keys}
            doc["outbox_rev"] = doc.get("outbox_rev", 0) + 1

    def docs(self, collection: str) -> list[dict[str, Any]]:
        return list(self.collections.get(collection, {}).values())


@dataclass
class Intake:
    """One intake service wired like services/intake/app.py, plus taps on its outputs."""

    broker: RabbitBroker
    topology: Topology
    store: FakeStore
    registry: CollectorRegistry
    consumed: list[StreamMessage[Any]] = field(default_factory=list)
    events: list[RabbitMessage] = field(default_factory=list)
    dead_letters: list[RabbitMessage] = field(default_factory=list)

    @property
    def queue(self) -> str:
        return self.topology.work_queue("intake").name

    async def deliver(self, body: bytes, **options: Any) -> StreamMessage[Any]:
        """Deliver one message to the intake work queue; the consumed message comes back."""
        before = len(self.consumed)
        await self.broker.publish(body, queue=self.queue, **options)
        mine = [m for m in self.consumed[before:]  # not the taps' deliveries
                if (m.raw_message.exchange, m.raw_message.routing_key) == ("", self.queue)]
        assert len(mine) == 1
        return mine[0]

    def tickets(self) -> list[WorkOrder]:
        return [WorkOrder.from_document(d) for d in self.store.docs("tickets")]


def _build() -> Intake:
    topology = Topology(namespace=f"t{uuid.uuid4().hex[:10]}")  # unique names per test
    consumed: list[StreamMessage[Any]] = []

    class Capture(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
            consumed.append(msg)
            return await call_next(msg)

    broker = RabbitBroker(middlewares=[Capture])
    store = FakeStore()
    registry = new_registry()
    publisher = EventPublisher(broker, topology)
    consumer = ReliableConsumer(
        service="intake", queue=topology.work_queue("intake").name, store=store,  # type: ignore[arg-type]
        publisher=publisher, metrics=ConsumerMetrics(registry, "intake"),
        backoff_base=0.001, backoff_cap=0.01,
    )
    repo = IntakeRepository(store, "SQ", "Asia/Shanghai")  # type: ignore[arg-type]
    # Linking of repeat submissions has its own tests (tests/unit/test_intake_handler.py).
    handler = IntakeHandler(repo, publisher, IntakeMetrics(registry),
                            IntakeSettings(duplicate_window_hours=0))
    register(consumer, broker, topology, handler, prefetch=10)
    service = Intake(broker, topology, store, registry, consumed)

    # Taps standing in for downstream queues bound to the events exchange and the DLX.
    @broker.subscriber(RabbitQueue(f"{topology.namespace}.tap.events", routing_key="#"),
                       exchange=topology.exchange(topology.events_exchange))
    async def tap_events(message: RabbitMessage) -> None:
        service.events.append(message)

    wq = topology.work_queue("intake")

    @broker.subscriber(RabbitQueue(wq.dlq, routing_key=wq.name),
                       exchange=topology.exchange(topology.dead_letter_exchange))
    async def tap_dlq(message: RabbitMessage) -> None:
        service.dead_letters.append(message)

    return service


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    service = _build()
    async with TestRabbitBroker(service.broker):
        yield service


def _body(**overrides: Any) -> bytes:
    return json.dumps(envelope_payload(**overrides), ensure_ascii=False).encode("utf-8")


def _outcomes(service: Intake) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in service.registry.collect():
        if metric.name == "suqiu_consumer_messages":
            for s in metric.samples:
                if s.name.endswith("_total"):
                    out[s.labels["outcome"]] = s.value
    return out


async def test_valid_envelope_creates_ticket_announces_it_and_acks(intake: Intake) -> None:
    body = _body(channel_message_id="call-1")
    message = await intake.deliver(body, message_id="m-1")

    assert message.committed is AckStatus.ACKED
    [ticket] = intake.tickets()
    prefix, _day, seq = parse_ticket_no(ticket.ticket_no)  # the day is today's: wall clock
    assert (prefix, seq) == ("SQ", 1)
    assert ticket.intake_key == "hotline:call-1"
    assert ticket.raw_payload is None  # stored apart, in intake_payloads
    assert intake.store.collections["intake_payloads"]["hotline:call-1"]["raw_payload"] == \
        body.decode("utf-8")
    assert ticket.complainant.phone == "13800138000"

    [event_msg] = intake.events
    event = EVENT_ADAPTER.validate_json(event_msg.body)
    assert isinstance(event, TicketReceived)
    assert event.event_id == f"{ticket.ticket_no}:received"
    assert event_msg.raw_message.routing_key == "ticket.received"
    assert event_msg.message_id == event.event_id
    assert event_msg.headers["x-suqiu-ticket-no"] == ticket.ticket_no
    assert intake.dead_letters == []
    assert intake.store.docs("rejected_messages") == []
    assert _outcomes(intake) == {"created": 1.0}


async def test_same_message_delivered_twice_creates_one_ticket(intake: Intake) -> None:
    body = _body(channel_message_id="call-2")
    first = await intake.deliver(body, message_id="m-2")
    second = await intake.deliver(body, message_id="m-2")

    assert (first.committed, second.committed) == (AckStatus.ACKED, AckStatus.ACKED)
    assert len(intake.tickets()) == 1
    # ticket.received stays in the order's outbox until the classifier's write consumes it
    # (shared.outbox.HANDED_ON): the duplicate announces it again with the same event id,
    # consumers deduplicate, and the duplicate's flush marks it sent.
    ids = {EVENT_ADAPTER.validate_json(m.body).event_id for m in intake.events}
    assert len(intake.events) == 2 and len(ids) == 1
    assert all(not d.get("outbox") for d in intake.store.docs("tickets"))
    assert _outcomes(intake) == {"created": 1.0, "duplicate": 1.0}


async def test_concurrent_writer_race_yields_the_winners_ticket(intake: Intake) -> None:
    body = _body(channel_message_id="call-3")
    await intake.deliver(body)
    winner = intake.tickets()[0]
    # Without a person to look up, intake inserts first (no read): the insert hits the unique
    # index and the winner's ticket is read back.

    message = await intake.deliver(body)

    assert message.committed is AckStatus.ACKED
    [stored] = intake.tickets()
    assert stored.model_copy(update={"outbox": {}, "outbox_rev": 0}) == \
        winner.model_copy(update={"outbox": {}})
    last = EVENT_ADAPTER.validate_json(intake.events[-1].body)
    assert last.ticket_no == winner.ticket_no
    assert _outcomes(intake)["duplicate"] == 1.0


async def test_different_channels_with_same_message_id_are_two_tickets(intake: Intake) -> None:
    await intake.deliver(_body(channel="web", channel_message_id="x-1"))
    await intake.deliver(_body(channel="app", channel_message_id="x-1"))
    seqs = sorted(parse_ticket_no(t.ticket_no)[2] for t in intake.tickets())
    assert seqs == [1, 2]
    assert {t.intake_key for t in intake.tickets()} == {"web:x-1", "app:x-1"}


async def test_invalid_json_is_rejected_dead_lettered_and_acked(intake: Intake) -> None:
    message = await intake.deliver(b'{"channel": "hotline",', message_id="bad-json")

    assert message.committed is AckStatus.ACKED  # not requeued: it can never succeed
    assert intake.tickets() == [] and intake.events == []
    [record] = intake.store.docs("rejected_messages")
    assert record["_id"] == f"{intake.queue}:bad-json"
    assert record["reason"] == "invalid_json"
    assert [e["field"] for e in record["errors"]] == ["$"]
    assert record["errors"][0]["reason"] == "invalid_json"
    assert record["body_text"] == '{"channel": "hotline",'

    [dead] = intake.dead_letters
    assert dead.body == b'{"channel": "hotline",'
    assert dead.headers[ERROR_REASON_HEADER] == "invalid_json"
    assert dead.headers[ORIGINAL_QUEUE_HEADER] == intake.queue
    assert dead.message_id == "bad-json"
    assert _outcomes(intake) == {"rejected": 1.0}


async def test_non_utf8_body_is_rejected_as_invalid_encoding(intake: Intake) -> None:
    message = await intake.deliver(b"\xff\xfe{}")
    assert message.committed is AckStatus.ACKED
    [record] = intake.store.docs("rejected_messages")
    assert record["reason"] == "invalid_encoding"
    assert record["body_text"] is None
    assert record["body_base64"] == "//57fQ=="


async def test_invalid_envelope_is_rejected_with_field_errors(intake: Intake) -> None:
    payload = envelope_payload(channel="telegram", location={"lat": 30.2})
    del payload["content"]
    message = await intake.deliver(json.dumps(payload).encode(), message_id="bad-env")

    assert message.committed is AckStatus.ACKED
    assert intake.tickets() == []
    [record] = intake.store.docs("rejected_messages")
    assert record["reason"] == "validation_failed"
    assert {(e["field"], e["reason"]) for e in record["errors"]} == {
        ("channel", "enum"), ("content", "missing"), ("location", "value_error")}
    [dead] = intake.dead_letters
    detail = json.loads(dead.headers[ERROR_DETAIL_HEADER])
    assert {d["field"] for d in detail} == {"channel", "content", "location"}


async def test_redelivered_invalid_message_is_recorded_once(intake: Intake) -> None:
    await intake.deliver(b"not json", message_id="bad-twice")
    again = await intake.deliver(b"not json", message_id="bad-twice")
    assert again.committed is AckStatus.ACKED
    assert len(intake.store.docs("rejected_messages")) == 1
    assert len(intake.dead_letters) == 2


async def test_transient_store_failure_is_nacked_for_redelivery(intake: Intake) -> None:
    intake.store.fail_inserts = 1
    body = _body(channel_message_id="call-4")

    failed = await intake.deliver(body, headers={"x-delivery-count": 0})
    assert failed.committed is AckStatus.NACKED
    assert intake.tickets() == [] and intake.events == []
    assert intake.store.docs("rejected_messages") == [] and intake.dead_letters == []

    retried = await intake.deliver(body, headers={"x-delivery-count": 1})
    assert retried.committed is AckStatus.ACKED
    assert len(intake.tickets()) == 1
    assert _outcomes(intake) == {"retried": 1.0, "created": 1.0}
