"""The real classifier service in-process, on a real RabbitMQ and a real MongoDB-protocol server.

Work orders are stored as intake leaves them and `ticket.received` is published on the events
exchange; the test watches the stored orders and the events the service emits.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import pytest
import yaml
from aio_pika.abc import AbstractChannel, AbstractQueue

from suqiu.services.classifier.app import create_runtime
from suqiu.services.classifier.domain.model import resolve_model_dir
from suqiu.services.classifier.settings import DEFAULT_MODEL_DIR, ClassifierSettings
from suqiu.shared.catalogue import REPO_ROOT
from suqiu.shared.contracts import (
    EVENT_ADAPTER,
    Complainant,
    Location,
    TicketReceived,
    TicketStatus,
    WorkOrder,
)
from suqiu.shared.outbox import with_outbox
from suqiu.shared.runtime import ServiceRuntime
from suqiu.shared.settings import CommonSettings
from suqiu.shared.store import Store
from tests.factories import make_order
from tests.integration.helpers import get_message, wait_for

pytestmark = pytest.mark.integration

WATCHED = ("ticket.classified", "ticket.triage_required", "ticket.mass_incident")


@dataclass
class Classifier:
    runtime: ServiceRuntime
    channel: AbstractChannel
    events: AbstractQueue
    store: Store
    namespace: str

    async def submit(self, order: WorkOrder) -> None:
        await self.store.insert_ticket(order)
        event = TicketReceived(event_id=f"{order.ticket_no}:received", ticket_no=order.ticket_no,
                               occurred_at=datetime.now(UTC), intake_at=order.received_at,
                               channel=order.channel)
        exchange = await self.channel.get_exchange(f"{self.namespace}.events")
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode(),
                                                message_id=event.event_id,
                                                content_type="application/json"),
                               routing_key=event.type)

    async def settled(self, ticket_no: str) -> WorkOrder | None:
        async def probe() -> WorkOrder | None:
            order = await self.store.get_ticket(ticket_no)
            return order if order and order.status is not TicketStatus.RECEIVED else None
        return await wait_for(probe, timeout=20)

    async def next_events(self, n: int) -> list[dict]:
        out = []
        for _ in range(n):
            msg = await get_message(self.events, timeout=20)
            assert msg is not None, f"only {len(out)} of {n} events arrived"
            out.append({"type": msg.routing_key, **json.loads(msg.body)})
        return out


@asynccontextmanager
async def _running(amqp_url: str, mongo_url: str, namespace: str,
                   catalogue_path: Path | None = None, model_path: Path | None = None,
                   ) -> AsyncIterator[Classifier]:
    extra = {"catalogue_path": catalogue_path} if catalogue_path else {}
    common = CommonSettings(AMQP_URL=amqp_url, MONGO_URL=mongo_url,  # type: ignore[call-arg]
                            mongo_db=namespace, namespace=namespace, **extra)
    settings = ClassifierSettings(http_port=0, **({"model_path": model_path} if model_path
                                                  else {}))
    runtime = create_runtime(common, settings)
    store = Store(mongo_url, namespace)
    conn = await aio_pika.connect(amqp_url)
    try:
        async with runtime.lifespan():
            channel = await conn.channel()
            events = await channel.declare_queue(exclusive=True)
            for key in WATCHED:
                await events.bind(f"{namespace}.events", routing_key=key)
            yield Classifier(runtime, channel, events, store, namespace)
    finally:
        await conn.close()
        await store.db.client.drop_database(namespace)
        await store.close()


@pytest.fixture
async def classifier(amqp_url: str, mongo_url: str, namespace: str
                     ) -> AsyncIterator[Classifier]:
    async with _running(amqp_url, mongo_url, namespace) as running:
        yield running


@pytest.fixture
async def strict_classifier(amqp_url: str, mongo_url: str, namespace: str, tmp_path: Path
                            ) -> AsyncIterator[Classifier]:
    """The shipped model with stored triage thresholds no model decision reaches (the
    thresholds live with the model: one truth), and no decisive keyword rules."""
    data = yaml.safe_load((REPO_ROOT / "deploy/config/catalogue.yaml").read_text("utf-8"))
    data["classifier"]["keyword_precedence"] = 1.0
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    shipped = resolve_model_dir(DEFAULT_MODEL_DIR)
    model = tmp_path / "strict_model"
    shutil.copytree(shipped, model)
    meta = json.loads((model / "meta.json").read_text("utf-8"))
    meta["thresholds"] = {"category": 0.9999, "department": 0.9999}
    (model / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    async with _running(amqp_url, mongo_url, namespace, path, model) as running:
        yield running


def _order(n: int, text: str, phone: str, address: str | None = None) -> WorkOrder:
    return make_order(ticket_no=f"SQ-20261123-{n:06d}", channel_message_id=f"call-{n}",
                      intake_key=f"hotline:call-{n}", analysis_text=text,
                      complainant=Complainant(name="某", phone=phone),
                      location=Location(address=address))


async def test_confident_order_is_classified_by_the_model_and_announced(
        classifier: Classifier) -> None:
    await classifier.submit(_order(1, "楼下饭馆的排烟管道对着我家窗户，每天晚上烟熏火燎",
                                   "13800000001", "滨江区长河街道"))
    order = await classifier.settled("SQ-20261123-000001")
    assert order is not None and order.status is TicketStatus.CLASSIFIED
    c = order.classification
    assert c is not None and c.category == "环境保护" and c.model_version
    assert (c.region.district, c.region.street) == ("滨江区", "长河街道")
    [event] = await classifier.next_events(1)
    assert event["type"] == "ticket.classified" and event["category"] == "环境保护"

    async def counted() -> float | None:  # counted just after the publish: wait for it
        return classifier.runtime.registry.get_sample_value(
            "suqiu_classifier_decisions_total", {"source": c.decided_by or ""})
    assert await wait_for(counted) == 1


async def test_unclear_order_goes_to_triage_and_is_not_offered_to_dispatch(
        strict_classifier: Classifier) -> None:
    classifier = strict_classifier
    await classifier.submit(_order(2, "我想反映一下上次说的那个情况，到现在还是老样子", "13800000002"))
    order = await classifier.settled("SQ-20261123-000002")
    assert order is not None and order.status is TicketStatus.TRIAGE
    assert order.classification is not None and order.classification.needs_triage
    [event] = await classifier.next_events(1)
    assert event["type"] == "ticket.triage_required"
    assert event["confidence"] < event["threshold"]
    # The dispatcher's queue is bound to ticket.classified only: nothing reached it.
    dispatcher = await classifier.channel.declare_queue(
        f"{classifier.namespace}.dispatcher.work", passive=True)
    assert dispatcher.declaration_result.message_count == 0


async def test_five_households_with_the_same_complaint_make_a_mass_incident(
        classifier: Classifier) -> None:
    text = "市民来电反映：西湖区文新街道德加社区3幢楼下的窨井盖缺失，晚上很危险，请尽快修复。"
    for i in range(5):
        await classifier.submit(_order(10 + i, text.replace("请", "麻烦" if i % 2 else "请"),
                                       f"1390000000{i}", "西湖区文新街道德加社区"))
        order = await classifier.settled(f"SQ-20261123-{10 + i:06d}")  # in arrival order
        assert order is not None and order.classification is not None
    events = await classifier.next_events(6)
    mass = [e for e in events if e["type"] == "ticket.mass_incident"]
    assert len(mass) == 1
    assert mass[0]["master_ticket_no"] == "SQ-20261123-000010"
    assert mass[0]["households"] == 5 and len(mass[0]["members"]) == 5
    last = await classifier.store.get_ticket("SQ-20261123-000014")
    assert last is not None and last.classification is not None
    assert last.classification.mass_incident and last.classification.severity.value == "major"
    first = await classifier.store.get_ticket("SQ-20261123-000010")
    assert first is not None and first.classification is not None
    assert first.classification.cluster_id == "SQ-20261123-000010"


async def test_redelivery_classifies_once_and_publishes_what_a_crash_left_pending(
        classifier: Classifier) -> None:
    order = _order(20, "公司拖欠三个月工资不发", "13800000020")
    await classifier.submit(order)
    first = await classifier.settled(order.ticket_no)
    [e1] = await classifier.next_events(1)
    assert first is not None
    if not first.outbox:  # ticket.triage_required is marked sent at once: make it pending,
        # as if the process had died between its write and its publish
        pending = EVENT_ADAPTER.validate_python(e1)
        await classifier.store.save_ticket(with_outbox(first, [pending]),
                                           expected_version=first.version)
    # ticket.classified stays pending until the dispatcher's write consumes it (HANDED_ON)
    assert [e.event_id for e in (await classifier.store.get_ticket(
        order.ticket_no)).outbox.values()] == [e1["event_id"]]  # type: ignore[union-attr]
    event = TicketReceived(event_id=f"{order.ticket_no}:received", ticket_no=order.ticket_no,
                           occurred_at=datetime.now(UTC), intake_at=order.received_at,
                           channel=order.channel)
    exchange = await classifier.channel.get_exchange(f"{classifier.namespace}.events")
    await exchange.publish(aio_pika.Message(event.model_dump_json().encode()),
                           routing_key="ticket.received")
    [e2] = await classifier.next_events(1)
    assert e1["event_id"] == e2["event_id"]
    again = await wait_for(lambda: _flushed(classifier.store, order.ticket_no))
    assert again is not None and again.version == first.version


async def _flushed(store: Store, ticket_no: str) -> WorkOrder | None:
    order = await store.get_ticket(ticket_no)
    return order if order is not None and not order.outbox else None
