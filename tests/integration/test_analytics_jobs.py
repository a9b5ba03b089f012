"""Analytics jobs on a real RabbitMQ and a real MongoDB-protocol server: retention masks old
orders and purges old rejected bodies, closed orders are archived through the dispatcher's
command queue, an erasure request is audited, and a hotspot becomes an event and a metric."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from prometheus_client import CollectorRegistry

from suqiu.services.analytics.app import limits_of
from suqiu.services.analytics.domain.facts import Dims, Fact
from suqiu.services.analytics.domain.hotspots import HotspotPolicy
from suqiu.services.analytics.domain.keys import increments
from suqiu.services.analytics.domain.report import totals
from suqiu.services.analytics.handlers import AnalyticsHandler, parse
from suqiu.services.analytics.hotspot_job import HotspotJob
from suqiu.services.analytics.metrics import AnalyticsMetrics
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.services.analytics.retention import CommandSender, RetentionJob, erase_person
from suqiu.shared.contracts import Severity, TicketClassified, TicketStatus
from suqiu.shared.keys import TIME_KEY, at_key
from suqiu.shared.store import Store
from suqiu.shared.topology import Topology
from tests.factories import make_order, small_catalogue
from tests.integration.helpers import get_message

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


@pytest.fixture
async def parts(amqp_url: str, mongo_url: str, namespace: str) -> AsyncIterator[dict[str, Any]]:
    topology = Topology(namespace)
    await topology.declare(amqp_url)
    broker = RabbitBroker(amqp_url)
    await broker.connect()
    store = Store(mongo_url, namespace)
    await store.ensure_indexes()
    repo = AnalyticsRepository(store)
    await repo.ensure_indexes()
    metrics = AnalyticsMetrics(CollectorRegistry())
    conn = await aio_pika.connect(amqp_url)
    channel = await conn.channel()
    try:
        yield {"topology": topology, "broker": broker, "store": store, "repo": repo,
               "metrics": metrics, "channel": channel,
               "retention": RetentionJob(repo, CommandSender(broker, topology), metrics,
                                         archive_after=timedelta(days=30),
                                         retention=timedelta(days=730), batch=2)}
    finally:
        await conn.close()
        await broker.stop()
        await store.close()


async def test_retention_masks_old_orders_and_purges_old_rejected_bodies(parts: dict[str, Any]) -> None:
    store: Store = parts["store"]
    for i, age in enumerate((900, 800, 760, 100)):
        o = make_order(TicketStatus.DISPATCHED, ticket_no=f"SQ-OLD-{i}", now=NOW - timedelta(days=age),
                       intake_key=f"hotline:old-{i}", raw_payload='{"phone": "13800138000"}')
        await store.insert_ticket(o)
    for i, age in enumerate((800, 10)):
        await store.insert("rejected_messages", {
            "_id": f"q:m{i}", "queue": "q", "received_at": NOW - timedelta(days=age),
            "received_key": at_key(TIME_KEY, NOW - timedelta(days=age)),
            "body_text": '{"phone": "13800138000"}', "body_base64": "e30=", "headers": {"a": 1}})
    await parts["retention"].run_once(NOW)  # batch 2: runs until everything old is done
    for i in range(3):
        o = await store.get_ticket(f"SQ-OLD-{i}")
        assert o is not None and o.complainant.phone == "138****8000" and o.raw_payload == ""
        assert o.classification is not None and o.dispatch is not None  # statistics kept
    recent = await store.get_ticket("SQ-OLD-3")
    assert recent is not None and recent.complainant.phone == "13800138000"
    old = await store.find_one("rejected_messages", {"_id": "q:m0"})
    new = await store.find_one("rejected_messages", {"_id": "q:m1"})
    assert old is not None and old["body_text"] is None and old.get("purged")
    assert new is not None and new["body_text"] and new["headers"] == {"a": 1}
    await parts["retention"].run_once(NOW)  # again: nothing more to do
    assert (await store.get_ticket("SQ-OLD-0")).version == make_order(  # type: ignore[union-attr]
        TicketStatus.DISPATCHED).version + 1


async def test_closed_orders_are_archived_through_the_dispatcher(parts: dict[str, Any]) -> None:
    store, repo = parts["store"], parts["repo"]
    closed = make_order(TicketStatus.DISPATCHED, ticket_no="SQ-C-1", intake_key="hotline:c1")
    closed = closed.model_copy(update={"status": TicketStatus.CLOSED})
    reopened = make_order(TicketStatus.DISPATCHED, ticket_no="SQ-C-2", intake_key="hotline:c2")
    for o in (closed, reopened):
        await store.insert_ticket(o)
        await repo.schedule_archive(o.ticket_no, NOW - timedelta(minutes=1))
    await repo.schedule_archive("SQ-C-3", NOW + timedelta(days=1))  # not yet due
    assert await parts["retention"].archive(NOW) == 1
    queue = await parts["channel"].get_queue(parts["topology"].work_queue("dispatcher").name)
    msg = await get_message(queue)
    assert msg is not None
    body = json.loads(msg.body)
    assert body["action"] == "archive" and body["ticket_no"] == "SQ-C-1"
    assert body["role"] == "system" and body["expected_version"] == closed.version
    assert msg.message_id == f"archive:SQ-C-1:{closed.version}"
    assert await get_message(queue, timeout=0.5) is None
    assert await repo.archive_due(NOW, 10) == []
    assert [d["_id"] for d in await repo.archive_due(NOW + timedelta(days=2), 10)] == ["SQ-C-3"]


async def test_an_erasure_request_erases_one_person_and_is_audited(parts: dict[str, Any]) -> None:
    store, repo = parts["store"], parts["repo"]
    for i, key in enumerate(("person-a", "person-a", "person-b")):
        await store.insert_ticket(make_order(TicketStatus.DISPATCHED, ticket_no=f"SQ-E-{i}",
                                             intake_key=f"hotline:e{i}", person_key=key))
    entry = await erase_person(repo, "person-a", requested_by="op-7", reason="个人信息删除申请 2026-001",
                               now=NOW)
    assert sorted(entry["tickets"]) == ["SQ-E-0", "SQ-E-1"]
    for no in ("SQ-E-0", "SQ-E-1"):
        o = await store.get_ticket(no)
        assert o is not None and o.complainant.phone is None and o.person_key is None
        assert o.classification is not None
    other = await store.get_ticket("SQ-E-2")
    assert other is not None and other.complainant.phone == "13800138000"
    audit = await store.find_one("audit_log", {"_id": entry["_id"]})
    assert audit is not None and audit["action"] == "erase_person"
    assert audit["requested_by"] == "op-7" and audit["subject"] == "person-a"
    assert "13800138000" not in json.dumps(audit, default=str)


async def test_a_hotspot_is_announced_kept_once_and_shown_as_a_metric(parts: dict[str, Any]) -> None:
    repo: AnalyticsRepository = parts["repo"]
    today = NOW.date()
    burst = Dims(category="城乡建设", district="西湖区", street="文新街道")
    calm = Dims(category="城乡建设", district="西湖区", street="古荡街道")
    for d in range(1, 49):  # one order every other day in both streets
        day = (today - timedelta(days=d)).isoformat()
        if d % 2 == 0:
            for dims in (burst, calm):
                await repo.count_event(f"bg-{d}-{dims.street}",
                                       increments([Fact(day, dims, "valid", f"SQ-BG-{d}")]))
    for i in range(12):
        await repo.count_event(f"burst-{i}", increments(
            [Fact(today.isoformat(), burst, "valid", f"SQ-HOT-{i:02d}")]))
    job = HotspotJob(repo, parts["broker"], parts["topology"], parts["metrics"],
                     HotspotPolicy(), NOW.tzinfo)  # type: ignore[arg-type]
    found = await job.run_once(NOW)
    # the burst plus the background's days 2, 4 and 6 in the window
    assert [(h.street, h.observed) for h in found] == [("文新街道", 12 + 3)]
    queue = await parts["channel"].get_queue(parts["topology"].work_queue("analytics").name)
    msg = await get_message(queue)
    assert msg is not None and msg.routing_key == "analytics.hotspot"
    event = parse(json.loads(msg.body))
    assert event.street == "文新街道" and event.observed >= 12  # type: ignore[attr-defined]
    assert "SQ-HOT-00" in event.sample_tickets  # type: ignore[attr-defined]
    gauge = parts["metrics"].hotspots.labels("城乡建设", "西湖区", "文新街道")._value.get()
    assert gauge == event.observed  # type: ignore[attr-defined]
    handler = AnalyticsHandler(repo, None, parts["metrics"])  # type: ignore[arg-type]
    assert await handler.on_event(event) == "ok"
    assert await handler.on_event(event) == "duplicate"
    kept = await repo.hotspots(event.window_end)  # type: ignore[attr-defined]
    assert [k["street"] for k in kept] == ["文新街道"]


async def test_concurrent_and_repeated_deliveries_count_each_fact_once(parts: dict[str, Any]) -> None:
    store, repo = parts["store"], parts["repo"]
    order = make_order(TicketStatus.DISPATCHED, ticket_no="SQ-R-1", intake_key="hotline:r1")
    await store.insert_ticket(order)
    handler = AnalyticsHandler(repo, limits_of(small_catalogue(), "Asia/Shanghai"),
                               parts["metrics"])
    event = TicketClassified(event_id="SQ-R-1:classified", ticket_no="SQ-R-1", occurred_at=NOW,
                             intake_at=NOW, category="城乡建设", department="construction",
                             severity=Severity.GENERAL, confidence=0.9)
    results = await asyncio.gather(*(handler.on_event(event) for _ in range(6)))
    assert sorted(results) == ["duplicate"] * 5 + ["ok"]
    assert await handler.on_event(event) == "duplicate"
    day = order.history[0].at.astimezone(UTC).date().isoformat()  # 10:00 local, same day
    got = totals(await repo.partition(f"d|{day}"))
    assert (got["received"], got["valid"], got["dispatched"]) == (1, 1, 1)
    assert sum(got.values()) == 3
