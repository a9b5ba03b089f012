"""Three SLA monitor replicas on a real RabbitMQ and a real MongoDB-protocol server.

Every due timer is announced exactly once; a timer claimed by a replica that died is taken
over after its lease; lifecycle events published on the broker recompute the order's clocks.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

from services.sla_monitor.app import create_runtime
from services.sla_monitor.settings import SlaSettings
from shared.contracts import EVENT_ADAPTER, Severity, TicketDispatched, TicketSuspended
from shared.settings import CommonSettings
from shared.store import Store
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.integration

N_TIMERS = 500


@dataclass
class Replicas:
    store: Store
    exchange: aio_pika.abc.AbstractExchange
    seen: aio_pika.abc.AbstractQueue

    async def publish(self, event: Any) -> None:
        await self.exchange.publish(aio_pika.Message(
            EVENT_ADAPTER.dump_json(event), message_id=event.event_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=event.type)

    async def drain(self, expected: int, timeout: float = 40.0) -> Counter[str]:
        """Message ids of sla.* events, until `expected` arrived and a quiet second passed."""
        ids: Counter[str] = Counter()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_since = None
        while loop.time() < deadline:
            msg = await self.seen.get(no_ack=True, fail=False)
            if msg is not None:
                ids[msg.message_id or ""] += 1
                quiet_since = None
                continue
            if sum(ids.values()) >= expected:
                quiet_since = quiet_since or loop.time()
                if loop.time() - quiet_since > 1.5:
                    break
            await asyncio.sleep(0.05)
        return ids


@pytest.fixture
async def replicas(amqp_url: str, mongo_url: str, namespace: str) -> AsyncIterator[Replicas]:
    common = CommonSettings(AMQP_URL=amqp_url, MONGO_URL=mongo_url,  # type: ignore[call-arg]
                            mongo_db=namespace, namespace=namespace)
    settings = SlaSettings(http_port=0, scan_interval_s=0.2, claim_batch=100, lease_s=3)
    store = Store(mongo_url, namespace)
    conn = await aio_pika.connect(amqp_url)
    try:
        async with AsyncExitStack() as stack:
            for _ in range(3):
                await stack.enter_async_context(create_runtime(common, settings).lifespan())
            channel = await conn.channel()
            exchange = await channel.get_exchange(f"{namespace}.events")
            seen = await channel.declare_queue(f"{namespace}.test.sla", exclusive=True)
            for key in ("sla.*", "ticket.urged"):
                await seen.bind(exchange, routing_key=key)
            yield Replicas(store, exchange, seen)
    finally:
        await conn.close()
        await store.db.client.drop_database(namespace)
        await store.close()


def _timer(i: int, fire_at: datetime, **extra: Any) -> dict[str, Any]:
    ticket = f"SQ-20261123-{i:06d}"
    return {"_id": f"{ticket}:g1:sign_for:breach", "ticket_no": ticket, "step": "sign_for",
            "kind": "breach", "fire_at": fire_at, "due_at": fire_at,
            "department": "construction", "intake_at": fire_at - timedelta(hours=2),
            "generation": 1, "severity": "general", "escalated_to": None,
            "state": "pending"} | extra


async def test_three_replicas_fire_each_of_500_due_timers_exactly_once(
        replicas: Replicas) -> None:
    now = datetime.now(UTC)
    docs = [_timer(i, now - timedelta(seconds=1) + timedelta(milliseconds=4 * i))
            for i in range(N_TIMERS)]
    await replicas.store.collection("sla_timers").insert_many(docs)
    ids = await replicas.drain(N_TIMERS)
    assert len(ids) == N_TIMERS, f"missed {N_TIMERS - len(ids)}"
    assert [k for k, n in ids.items() if n > 1] == []
    assert set(ids) == {d["_id"] for d in docs}

    async def all_fired() -> bool:
        return await replicas.store.collection("sla_timer_log").count_documents(
            {"state": "fired"}) == N_TIMERS
    assert await wait_for(all_fired)
    assert await replicas.store.collection("sla_timers").count_documents({}) == 0


async def test_a_timer_claimed_by_a_dead_replica_fires_after_its_lease(
        replicas: Replicas) -> None:
    past = datetime.now(UTC) - timedelta(seconds=30)
    await replicas.store.collection("sla_timers").insert_one(_timer(
        1, past, state="claimed", owner="dead-host:1", lease_until=past + timedelta(seconds=3)))
    ids = await replicas.drain(1)
    assert list(ids.items()) == [("SQ-20261123-000001:g1:sign_for:breach", 1)]
    doc = await replicas.store.find_one("sla_timer_log",
                                        {"_id": "SQ-20261123-000001:g1:sign_for:breach"})
    assert doc is not None and doc["state"] == "fired" and doc["claims"] == 1


async def test_lifecycle_events_recompute_and_supersede_timers(replicas: Replicas) -> None:
    ticket = f"SQ-20261123-{uuid.uuid4().int % 1_000_000:06d}"
    start = datetime.now(UTC) - timedelta(minutes=5)
    await replicas.publish(TicketDispatched(
        event_id=f"{ticket}:dispatched:3", ticket_no=ticket, occurred_at=start, intake_at=start,
        department="construction", severity=Severity.MAJOR,
        sign_for_due=start + timedelta(hours=1), resolution_due=start + timedelta(hours=48)))

    async def generation(n: int) -> list[dict[str, Any]]:
        docs = await replicas.store.collection("sla_timers").find(
            {"ticket_no": ticket}).to_list(None)
        return [d for d in docs if d["generation"] == n and d["state"] == "pending"]
    want = {("sign_for", "breach"), ("resolution", "warning")}

    async def first_generation() -> list[dict[str, Any]]:
        # the monitor writes an order's timers one by one: wait for the whole set
        docs = await generation(1)
        return docs if {(d["step"], d["kind"]) for d in docs} >= want else []
    first = await wait_for(first_generation)
    assert {(d["step"], d["kind"]) for d in first} >= want
    await replicas.publish(TicketSuspended(
        event_id=f"{ticket}:suspended:5", ticket_no=ticket, occurred_at=start + timedelta(minutes=1),
        intake_at=start, version=5, actor="construction", from_status="signed",
        to_status="suspended", department="construction", reason="等待市民补充材料"))

    async def superseded() -> bool:
        live = await replicas.store.collection("sla_timers").find(
            {"ticket_no": ticket}).to_list(None)
        logged = await replicas.store.collection("sla_timer_log").find(
            {"ticket_no": ticket}).to_list(None)
        return (not any(d["generation"] == 1 for d in live)
                and len(logged) >= len(first) and all(d["state"] == "superseded" for d in logged))
    assert await wait_for(superseded)
    clock = await replicas.store.find_one("sla_clocks", {"_id": ticket})
    assert clock is not None and clock["generation"] == 2
    # suspended: no running deadline, only the automatic upgrade timer remains
    assert {d["kind"] for d in await generation(2)} <= {"upgrade"}


async def test_resume_recomputes_from_the_orders_history_and_extension_moves_resolution(
        replicas: Replicas) -> None:
    from shared.contracts import (
        HistoryEntry,
        TicketExtensionApproved,
        TicketResumed,
        TicketStatus,
    )
    from tests.factories import make_classification, make_order

    ticket = f"SQ-20261123-{uuid.uuid4().int % 1_000_000:06d}"
    t0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 Asia/Shanghai
    order = make_order(TicketStatus.DISPATCHED, ticket_no=ticket, now=t0,
                       intake_key=f"hotline:{ticket}",
                       classification=make_classification(department="construction",
                                                          severity=Severity.MAJOR))
    dispatched_at = t0 + timedelta(minutes=2)
    # the suspension is known only from the order's stored history
    order.history.append(HistoryEntry(at=t0 + timedelta(hours=1), actor="construction",
                                      action="suspend", from_status=TicketStatus.DISPATCHED,
                                      to_status=TicketStatus.DISPATCHED))
    await replicas.store.insert_ticket(order)
    await replicas.publish(TicketDispatched(
        event_id=f"{ticket}:dispatched:3", ticket_no=ticket, occurred_at=dispatched_at,
        intake_at=t0, department="construction", severity=Severity.MAJOR,
        sign_for_due=dispatched_at + timedelta(hours=1),
        resolution_due=dispatched_at + timedelta(hours=48)))
    await replicas.publish(TicketResumed(
        event_id=f"{ticket}:resumed:6", ticket_no=ticket, occurred_at=t0 + timedelta(hours=4),
        intake_at=t0, version=6, actor="construction", from_status="suspended",
        to_status="processing", department="construction"))

    async def breach(step: str) -> list[datetime]:
        docs = await replicas.store.collection("sla_timers").find(
            {"ticket_no": ticket}).to_list(None)
        clock = await replicas.store.find_one("sla_clocks", {"_id": ticket})
        gen = clock["generation"] if clock else -1
        return [d["due_at"] for d in docs if d["generation"] == gen and d["step"] == step
                and d["kind"] == "breach" and len(clock["log"]) >= 3]  # type: ignore[index]
    due = await wait_for(lambda: breach("resolution"))
    # 48 h from dispatch, plus the 3 h paused
    assert due == [dispatched_at + timedelta(hours=51)]

    new_due = t0 + timedelta(days=6)
    await replicas.publish(TicketExtensionApproved(
        event_id=f"{ticket}:extension_approved:7", ticket_no=ticket,
        occurred_at=t0 + timedelta(hours=5), intake_at=t0, department="construction",
        new_resolution_due=new_due))

    async def moved() -> list[datetime]:
        return [d for d in await breach("resolution") if d == new_due]
    assert await wait_for(moved) == [new_due]


async def test_a_timer_logged_by_a_replica_that_died_before_removing_it_is_not_refired(
        replicas: Replicas) -> None:
    past = datetime.now(UTC) - timedelta(seconds=30)
    live = _timer(2, past, state="claimed", owner="dead-host:2",
                  lease_until=past + timedelta(seconds=3))
    await replicas.store.collection("sla_timer_log").insert_one(live | {"state": "fired"})
    await replicas.store.collection("sla_timers").insert_one(live)

    async def removed() -> bool:
        return await replicas.store.find_one("sla_timers", {"_id": live["_id"]}) is None
    assert await wait_for(removed)
    assert await replicas.drain(0, timeout=2.0) == Counter()
