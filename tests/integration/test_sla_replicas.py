"""Three SLA monitor replicas on a real RabbitMQ and a real MongoDB-protocol server.

Every due announcement is made exactly once; a timer claimed by a replica that died is taken
over after its lease; lifecycle events align the timers with the order's stored deadlines,
and a moved deadline re-announces nothing that was announced already. Every wait polls for
the exact state asserted (no fixed sleeps).
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

from suqiu.services.dispatcher.domain import (
    Command,
    Policy,
    dispatch_with_events,
    dispatched_event,
    transition,
)
from suqiu.services.sla_monitor.app import create_runtime
from suqiu.services.sla_monitor.domain import desired, plan, time_keys
from suqiu.services.sla_monitor.settings import SlaSettings
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.contracts import EVENT_ADAPTER, Severity, TicketStatus, WorkOrder
from suqiu.shared.settings import CommonSettings
from suqiu.shared.sla import load_book
from suqiu.shared.store import Store, VersionConflict
from tests.factories import make_classification, make_order
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.integration

N_ORDERS = 300
CAT = load_catalogue()
BOOK = load_book(CAT, None)
POLICY = Policy(CAT, deadlines=BOOK)
SUP = {d.id: d.parent for d in CAT.departments if d.parent}
DEPT = "construction_bureau"


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

    async def drain(self, expected: int, timeout: float = 60.0) -> Counter[str]:
        """Message ids of sla.* events until `expected` arrived and a quiet 1.5 s passed."""
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

    async def timers(self, ticket: str) -> dict[str, dict[str, Any]]:
        docs = await self.store.collection("sla_timers").find({"ticket_no": ticket}).to_list(None)
        return {d["step"]: d for d in docs}


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


def _ticket(i: int | None = None) -> str:
    return f"SQ-20261123-{(uuid.uuid4().int if i is None else i) % 1_000_000:06d}"


def _dispatched(ticket: str, at: datetime, severity: Severity = Severity.URGENT) -> WorkOrder:
    order = make_order(TicketStatus.CLASSIFIED, ticket_no=ticket, now=at - timedelta(minutes=3),
                       intake_key=f"hotline:{ticket}",
                       classification=make_classification(department=DEPT,
                                                          severity=severity))
    return dispatch_with_events(order, CAT, at, policy=POLICY)[0]


def _cmd(ticket: str, action: str, role: str = "department", **kw: Any) -> Command:
    dept = DEPT if role == "department" else None
    return Command.model_validate({"command_id": uuid.uuid4().hex, "ticket_no": ticket,
                                   "action": action, "actor": dept or role, "role": role,
                                   "department": dept, **kw})


async def _apply(r: Replicas, order: WorkOrder, at: datetime, action: str,
                 role: str = "department", **kw: Any) -> WorkOrder:
    """A dispatcher command, saved, with its events published (as the dispatcher does: the
    monitor writes breaches into the history, so a conflict re-reads and re-applies)."""
    cmd = _cmd(order.ticket_no, action, role, **kw)
    for _ in range(10):
        after, events = transition(order, cmd, at, POLICY)
        try:
            await r.store.save_ticket(after, expected_version=order.version)
        except VersionConflict:
            fresh = await r.store.get_ticket(order.ticket_no)
            assert fresh is not None
            order = fresh
            continue
        for e in events:
            await r.publish(e)
        return after
    raise AssertionError("too many conflicts")


async def test_three_replicas_announce_each_due_breach_exactly_once(replicas: Replicas) -> None:
    now = datetime.now(UTC)
    # urgent orders dispatched 31 min ago: sign-for (30 min) is breached, nothing else is due
    orders = [_dispatched(_ticket(i), now - timedelta(minutes=31)) for i in range(N_ORDERS)]
    await replicas.store.tickets.insert_many([o.to_document() for o in orders])
    timers = [t for o in orders for t in plan(o, {}, now, BOOK.policies, SUP,
                                               CAT.triage_department)[0]]
    await replicas.store.collection("sla_timers").insert_many([t.to_doc() for t in timers])
    ids = await replicas.drain(N_ORDERS)
    assert [k for k, n in ids.items() if n > 1] == []
    assert set(ids) == {f"{o.ticket_no}:sign_for:breach:"
                        f"{o.sla.sign_for_due.astimezone(UTC):%Y%m%dT%H%M%SZ}"  # type: ignore[union-attr]
                        for o in orders}

    async def recorded() -> bool:
        docs = await replicas.store.tickets.find({}, {"history": 1}).to_list(None)
        return sum(1 for d in docs for h in d["history"] if h["action"] == "sla_breach") \
            == N_ORDERS
    assert await wait_for(recorded, timeout=30)


async def test_a_timer_claimed_by_a_dead_replica_fires_after_its_lease(
        replicas: Replicas) -> None:
    order = _dispatched(_ticket(), datetime.now(UTC) - timedelta(minutes=31))
    await replicas.store.insert_ticket(order)
    t = desired(order, BOOK.policies, SUP, CAT.triage_department)["sign_for"]
    past = datetime.now(UTC) - timedelta(seconds=30)
    await replicas.store.collection("sla_timers").insert_one(
        t.to_doc() | {"fire_at": t.due_at, **time_keys(t.due_at, t.due_at), "state": "claimed",
                      "owner": "dead-host:1", "lease_until": past})
    ids = await replicas.drain(1)
    assert list(ids.values()) == [1] and next(iter(ids)).startswith(
        f"{order.ticket_no}:sign_for:breach:")


async def test_lifecycle_events_align_timers_with_the_stored_deadlines_and_do_not_reannounce(
        replicas: Replicas) -> None:
    ticket = _ticket()
    start = datetime.now(UTC) - timedelta(minutes=35)
    order = _dispatched(ticket, start)
    await replicas.store.insert_ticket(order)
    await replicas.publish(dispatched_event(order))

    async def timers_match(o: WorkOrder) -> bool:
        live = await replicas.timers(ticket)
        want = desired(o, BOOK.policies, SUP, CAT.triage_department)
        return {s: d["due_at"] for s, d in live.items()} == {s: t.due_at for s, t in want.items()}
    assert await wait_for(lambda: timers_match(order), timeout=30)
    # the sign-for breach (30 min, 5 min ago) is announced once
    first = await replicas.drain(1)
    assert [k.split(":")[1:3] for k in first] == [["sign_for", "breach"]]

    order = await _apply(replicas, order, start + timedelta(minutes=32), "sign")
    order = await _apply(replicas, order, start + timedelta(minutes=33), "suspend",
                         reason="等待市民补充材料")
    assert order.sla is not None and order.sla.resolution_due is None
    assert await wait_for(lambda: timers_match(order), timeout=30)
    assert "resolution" not in await replicas.timers(ticket)

    order = await _apply(replicas, order, start + timedelta(minutes=34), "resume")
    assert order.sla is not None and order.sla.resolution_due is not None
    # 24 h from dispatch plus the minute suspended (stored dates keep milliseconds)
    assert abs(order.sla.resolution_due - start - timedelta(hours=24, minutes=1)) \
        < timedelta(milliseconds=1)
    assert await wait_for(lambda: timers_match(order), timeout=30)
    # nothing newly caused: no second announcement of anything
    assert await replicas.drain(0, timeout=3) == Counter()
