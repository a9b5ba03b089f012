"""Every channel's own message over the real RabbitMQ into the real Mongo-protocol server:
one work order shape, near-duplicate linking on the store's index, invalid orders with their
call-back event, revalidation by an AMQP command, and rejections counted per channel."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from suqiu.services.intake.app import create_runtime
from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.contracts import EVENT_ADAPTER, TicketInvalid, TicketLinked, TicketReceived, WorkOrder
from suqiu.shared.runtime import ServiceRuntime
from suqiu.shared.settings import CommonSettings
from suqiu.shared.store import Store
from tests.integration.helpers import get_message, wait_for

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy/examples/intake"
ROUTING = {"hotline_call": "hotline", "web_form": "web", "wechat": "wechat", "email": "email",
           "sms": "sms", "letter": "letter", "walk_in": "walk_in", "transfer": "transfer", "app": "app",
           "revalidate": "command"}


@dataclass
class Intake:
    runtime: ServiceRuntime
    channel: AbstractChannel
    exchange: AbstractExchange
    events: AbstractQueue  # every event intake emits (bound with '#')
    store: Store

    async def publish(self, name: str, **overrides: Any) -> dict[str, Any]:
        data = {**json.loads((EXAMPLES / f"{name}.json").read_text("utf-8")), **overrides}
        if "message_id" in data and "message_id" not in overrides:
            data["message_id"] = f"{data['message_id']}-{uuid.uuid4().hex[:8]}"
        await self.publish_raw(json.dumps(data, ensure_ascii=False).encode(), ROUTING[name],
                               data.get("message_id") or uuid.uuid4().hex)
        return data

    async def publish_raw(self, body: bytes, channel: str, message_id: str) -> None:
        await self.exchange.publish(aio_pika.Message(
            body, message_id=message_id, content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=f"intake.{channel}")

    async def next_event(self) -> Any:
        msg = await get_message(self.events)
        assert msg is not None, "no event"
        return EVENT_ADAPTER.validate_json(msg.body)

    async def ticket(self, intake_key: str) -> WorkOrder:
        doc = await wait_for(lambda: self.store.find_one("tickets", {"intake_key": intake_key}))
        assert doc is not None, intake_key
        return WorkOrder.from_document(doc)

    def sample(self, name: str, **labels: str) -> float:
        return self.runtime.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def intake(amqp_url: str, mongo_url: str, namespace: str) -> AsyncIterator[Intake]:
    common = CommonSettings(AMQP_URL=amqp_url, MONGO_URL=mongo_url,  # type: ignore[call-arg]
                            mongo_db=namespace, namespace=namespace)
    runtime = create_runtime(common, IntakeSettings(http_port=0, duplicate_window_hours=24))
    store = Store(mongo_url, namespace)
    conn = await aio_pika.connect(amqp_url)
    try:
        async with runtime.lifespan():
            channel = await conn.channel()
            exchange = await channel.get_exchange(runtime.topology.intake_exchange)
            events = await channel.declare_queue(f"{namespace}.test.events", exclusive=True)
            await events.bind(runtime.topology.events_exchange, routing_key="#")
            yield Intake(runtime, channel, exchange, events, store)
    finally:
        await conn.close()
        await store.db.client.drop_database(namespace)
        await store.close()


async def test_every_channel_becomes_a_work_order_with_a_receipt(intake: Intake) -> None:
    for name, channel in ROUTING.items():
        if channel == "command":
            continue
        data = await intake.publish(name)
        order = await intake.ticket(f"{channel}:{data['message_id']}")
        event = await intake.next_event()
        assert isinstance(event, TicketReceived) and event.ticket_no == order.ticket_no, name
        assert event.promised_by is not None
        assert order.status.value == "received" and order.channel.value == channel
        assert order.raw_payload is None  # the order stays small: the payload is apart
        payload = await intake.store.find_one("intake_payloads", {"_id": order.intake_key})
        assert payload and payload["raw_payload"] == json.dumps(data, ensure_ascii=False)
        assert order.analysis_text and order.validity is not None and order.validity.valid
        assert intake.sample("suqiu_intake_received_total", channel=channel) == 1
    assert intake.sample("suqiu_intake_tickets_total", channel="email", outcome="created") == 1


async def test_repeat_by_the_same_caller_is_linked_through_the_store(intake: Intake) -> None:
    first = await intake.publish("hotline_call", received_at=datetime.now(UTC).isoformat())
    order = await intake.ticket(f"hotline:{first['message_id']}")
    await intake.next_event()
    again = await intake.publish("hotline_call", message_id=f"again-{uuid.uuid4().hex[:6]}",
                                 summary=first["summary"] + "再次来电催办。",
                                 received_at=datetime.now(UTC).isoformat())
    event = await intake.next_event()
    assert isinstance(event, TicketLinked)
    assert event.ticket_no == order.ticket_no and event.submission_key == f"hotline:{again['message_id']}"
    link = await intake.store.find_one("linked_submissions", {"_id": event.submission_key})
    assert link is not None and link["ticket_no"] == order.ticket_no
    assert await intake.store.tickets.count_documents({}) == 1


async def test_invalid_order_then_revalidated_by_an_operator_command(intake: Intake) -> None:
    data = await intake.publish("sms", text="测试")
    order = await intake.ticket(f"sms:{data['message_id']}")
    event = await intake.next_event()
    assert isinstance(event, TicketInvalid) and event.reasons == ["test"]
    assert order.status.value == "invalid"
    classifier = await intake.channel.declare_queue(
        intake.runtime.topology.work_queue("classifier").name, passive=True)
    assert await classifier.get(no_ack=True, fail=False) is None  # not sent to classification

    await intake.publish("revalidate", ticket_no=order.ticket_no)
    event = await intake.next_event()
    assert isinstance(event, TicketReceived) and event.ticket_no == order.ticket_no
    msg = await get_message(classifier)
    assert msg is not None and EVENT_ADAPTER.validate_json(msg.body).ticket_no == order.ticket_no
    doc = await intake.store.find_one("tickets", {"_id": order.ticket_no})
    assert doc is not None and doc["status"] == "received" and doc["version"] == 2


async def test_rejections_are_archived_bilingual_and_counted_per_channel(intake: Intake) -> None:
    await intake.publish_raw(b'{"type": "intake.sms", "message_id": "s-1"}', "sms", "bad-sms-1")
    await intake.publish_raw(b"\x00not json", "wechat", "bad-wx-1")
    queue = intake.runtime.topology.work_queue("intake").name
    for mid in ("bad-sms-1", "bad-wx-1"):
        record = await wait_for(lambda mid=mid: intake.store.find_one(
            "rejected_messages", {"_id": f"{queue}:{mid}"}))
        assert record is not None and record["errors"]
        assert all(e["field"] and e["reason"] and e["message"] and e["message_zh"] for e in record["errors"])
    assert intake.sample("suqiu_intake_rejected_total", channel="sms", reason="validation_failed") == 1
    assert intake.sample("suqiu_intake_rejected_total", channel="wechat", reason="invalid_json") == 1
