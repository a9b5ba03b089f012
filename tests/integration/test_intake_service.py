"""The real intake service in-process, on a real RabbitMQ and a real MongoDB-protocol server.

Messages are published exactly as a channel system does (`ChannelPublisher`); the service
runs through its own composition root and lifespan (topology, indexes, consumer).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from suqiu.channel_client import ChannelPublisher
from suqiu.services.intake.app import create_runtime
from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.contracts import EVENT_ADAPTER, TicketReceived, TicketStatus, WorkOrder
from suqiu.shared.messaging import ERROR_DETAIL_HEADER, ERROR_REASON_HEADER, ORIGINAL_QUEUE_HEADER
from suqiu.shared.runtime import ServiceRuntime
from suqiu.shared.settings import CommonSettings
from suqiu.shared.store import Store
from suqiu.shared.ticket_numbers import parse_ticket_no
from tests.factories import envelope_payload
from tests.integration.helpers import get_message, wait_for

pytestmark = pytest.mark.integration

TICKET_NO = re.compile(r"^SQ-\d{8}-\d{6}$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Intake:
    """A running intake service and the clients a test observes it with."""

    runtime: ServiceRuntime
    publisher: ChannelPublisher
    channel: AbstractChannel
    store: Store

    async def queue(self, name: str) -> AbstractQueue:
        return await self.channel.declare_queue(name, passive=True)

    def queue_name(self, service: str, kind: str = "work") -> str:
        return f"{self.runtime.topology.namespace}.{service}.{kind}"

    def counter(self, name: str, **labels: str) -> float:
        return self.runtime.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def intake(amqp_url: str, mongo_url: str, namespace: str) -> AsyncIterator[Intake]:
    # by alias: the fields' validation_alias is what pydantic-settings documents for init
    common = CommonSettings(AMQP_URL=amqp_url, MONGO_URL=mongo_url,  # type: ignore[call-arg]
                            mongo_db=namespace, namespace=namespace)
    runtime = create_runtime(common, IntakeSettings(http_port=0))
    store = Store(mongo_url, namespace)
    conn = await aio_pika.connect(amqp_url)
    try:
        async with runtime.lifespan():
            async with ChannelPublisher(amqp_url, namespace) as publisher:
                yield Intake(runtime, publisher, await conn.channel(), store)
    finally:
        await conn.close()
        await store.db.client.drop_database(namespace)
        await store.close()


def _payload(**overrides: Any) -> dict[str, Any]:
    """A valid web envelope with a unique channel message id, received just now."""
    now = datetime.now(UTC)
    received = now.replace(microsecond=now.microsecond // 1000 * 1000)  # BSON keeps ms
    return envelope_payload(**{"channel": "web", "channel_message_id": f"web-{uuid.uuid4().hex}",
                               "received_at": received.isoformat(), **overrides})


def _body(payload: dict[str, Any]) -> bytes:
    """The exact bytes ChannelPublisher sends for `payload`."""
    return json.dumps(payload, ensure_ascii=False).encode()


async def _next_event(intake: Intake, service: str = "classifier") -> TicketReceived:
    msg = await get_message(await intake.queue(intake.queue_name(service)))
    assert msg is not None, f"no ticket.received on {service}.work"
    event = EVENT_ADAPTER.validate_json(msg.body)
    assert isinstance(event, TicketReceived)
    assert msg.message_id == event.event_id
    return event


async def test_valid_envelope_creates_one_ticket_and_announces_it(intake: Intake) -> None:
    payload = _payload()
    day_before = datetime.now(SHANGHAI).date()

    await intake.publisher.publish(payload)
    event = await _next_event(intake)

    day_after = datetime.now(SHANGHAI).date()
    docs = await intake.store.tickets.find({}).to_list()
    assert len(docs) == 1
    order = WorkOrder.from_document(docs[0])
    assert order.status == TicketStatus.RECEIVED
    assert TICKET_NO.match(order.ticket_no)
    assert parse_ticket_no(order.ticket_no)[1] in {day_before, day_after}
    assert order.intake_key == f"web:{payload['channel_message_id']}"
    assert order.raw_payload is None  # the order stays small: the payload is apart
    raw = await intake.store.find_one("intake_payloads", {"_id": order.intake_key})
    assert raw and raw["raw_payload"] == _body(payload).decode()
    assert order.received_at == datetime.fromisoformat(payload["received_at"])
    assert order.received_at.tzinfo is not None
    assert order.complainant.phone == "13800138000"
    assert order.version == 1 and [h.action for h in order.history] == ["receive"]

    assert event.ticket_no == order.ticket_no
    assert event.event_id == f"{order.ticket_no}:received"
    assert event.channel.value == "web"
    assert (await _next_event(intake, "notifier")).ticket_no == order.ticket_no
    dispatcher = await intake.queue(intake.queue_name("dispatcher"))
    assert await dispatcher.get(no_ack=True, fail=False) is None
    assert intake.counter("suqiu_intake_tickets_total", channel="web", outcome="created") == 1


async def test_same_envelope_twice_yields_one_ticket(intake: Intake) -> None:
    payload = _payload()

    await intake.publisher.publish(payload)
    # A channel system retrying with a new AMQP id: the intake key still identifies it.
    await intake.publisher.publish(payload, message_id="retry-" + payload["channel_message_id"])
    first = await _next_event(intake)

    async def handled_twice() -> bool:
        return intake.counter("suqiu_intake_tickets_total", channel="web",
                              outcome="duplicate") == 1

    assert await wait_for(handled_twice)
    # ticket.received waits in the outbox for the classifier's write (HANDED_ON): the
    # duplicate announces it again with the same id, then marks it sent.
    second = await _next_event(intake)
    assert (second.event_id, second.ticket_no) == (first.event_id, first.ticket_no)
    doc = await intake.store.find_one("tickets", {"_id": first.ticket_no})
    assert doc is not None and doc["outbox"] == {}
    assert await intake.store.tickets.count_documents({}) == 1
    doc = await intake.store.find_one("tickets", {"_id": first.ticket_no})
    assert doc is not None and doc["intake_key"] == f"web:{payload['channel_message_id']}"
    assert intake.counter("suqiu_intake_tickets_total", channel="web", outcome="created") == 1
    assert intake.counter("suqiu_intake_tickets_total", channel="web", outcome="duplicate") == 1


async def _dead_letters(intake: Intake, count: int) -> dict[bytes, AbstractIncomingMessage]:
    """`count` messages from the intake DLQ, by body."""
    dlq = await intake.queue(intake.queue_name("intake", "dlq"))
    found: dict[bytes, AbstractIncomingMessage] = {}
    for _ in range(count):
        msg = await get_message(dlq)
        assert msg is not None, f"only {len(found)} of {count} dead letters arrived"
        found[msg.body] = msg
    return found


def _detail(msg: AbstractIncomingMessage) -> list[dict[str, str]]:
    headers = msg.headers or {}
    raw = headers[ERROR_DETAIL_HEADER]
    return json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))


async def test_bad_input_is_dead_lettered_recorded_and_consumption_continues(
    intake: Intake,
) -> None:
    work_queue = intake.queue_name("intake")
    not_json = b'{"channel": "web", "content": '
    invalid = _payload()
    del invalid["content"]
    not_utf8 = b'{"text": "\xff\xfe"}'

    await intake.publisher.publish({"channel": "web"}, body=not_json, message_id="bad-json-1")
    await intake.publisher.publish(invalid)
    await intake.publisher.publish({"channel": "web"}, body=not_utf8)  # client-assigned id
    valid = _payload()
    await intake.publisher.publish(valid)

    event = await _next_event(intake)
    dead = await _dead_letters(intake, 3)

    # the service kept consuming: the valid envelope after the bad ones became a ticket
    docs = await intake.store.tickets.find({}).to_list()
    assert [d["_id"] for d in docs] == [event.ticket_no]
    assert docs[0]["intake_key"] == f"web:{valid['channel_message_id']}"

    cases = {
        not_json: ("invalid_json", "$"),
        _body(invalid): ("validation_failed", "content"),
        not_utf8: ("invalid_encoding", "$"),
    }
    assert set(dead) == set(cases)
    assert dead[not_json].message_id == "bad-json-1"
    assert dead[_body(invalid)].message_id == invalid["channel_message_id"]
    for body, (reason, field) in cases.items():
        msg = dead[body]
        headers = msg.headers or {}
        assert headers[ERROR_REASON_HEADER] == reason
        assert headers[ORIGINAL_QUEUE_HEADER] == work_queue
        errors = _detail(msg)
        assert field in [e["field"] for e in errors], errors

        record = await wait_for(functools.partial(
            intake.store.find_one, "rejected_messages", {"_id": f"{work_queue}:{msg.message_id}"}))
        assert record is not None, reason
        assert record["queue"] == work_queue and record["service"] == "intake"
        assert record["reason"] == reason and record["errors"] == errors
        assert record["routing_key"] == "intake.web"
        assert base64.b64decode(record["body_base64"]) == body
        assert record["body_text"] == (None if reason == "invalid_encoding" else body.decode())
        assert record["received_at"].tzinfo is not None

    missing = [e for e in _detail(dead[_body(invalid)]) if e["field"] == "content"]
    assert missing[0]["reason"] == "missing"
    assert intake.counter("suqiu_consumer_messages_total", service="intake", queue=work_queue,
                          outcome="rejected") == 3
    assert intake.counter("suqiu_intake_tickets_total", channel="web", outcome="created") == 1
