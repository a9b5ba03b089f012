"""The analytics consumer over the real pipeline (six services as processes, real RabbitMQ and
Mongo-protocol server): the aggregates it maintains equal a rebuild from the orders, and
replaying every event again changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.services.analytics.app import limits_of
from suqiu.services.analytics.domain.report import period_for, totals
from suqiu.services.analytics.rebuild import compare, rebuild, rebuild_partitions
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.store import Store
from suqiu.stack import StackInfo
from tests.e2e.helpers import eventually, metric_sum, running_stack

pytestmark = pytest.mark.e2e

LIMITS = limits_of(load_catalogue(), "Asia/Shanghai")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[StackInfo]:
    with running_stack(tmp_path_factory.mktemp("stack"), amqp_url, mongo_url, "a", extra_env={
            "SUQIU_ANALYTICS_HOTSPOT_INTERVAL_S": "0", "SUQIU_ANALYTICS_RETENTION_INTERVAL_S": "0",
            "SUQIU_NOTIFIER_QUIET_START": "00:00", "SUQIU_NOTIFIER_QUIET_END": "00:00"}) as info:
        yield info


async def _command(channel: aio_pika.abc.AbstractChannel, ns: str, body: dict[str, Any]) -> None:
    exchange = await channel.get_exchange(f"{ns}.intake")
    await exchange.publish(aio_pika.Message(
        json.dumps(body, ensure_ascii=False).encode(), message_id=body["command_id"],
        content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key="command.dispatcher")


async def _wait_state(stack: StackInfo, no: str, status: str, above: int) -> dict[str, Any] | None:
    store = Store(stack.mongo_url, stack.mongo_db)
    try:
        return await eventually(lambda: store.find_one("tickets", {"_id": no}),
                                lambda d: bool(d) and d["status"] == status and d["version"] > above,
                                timeout=30)
    finally:
        await store.close()


async def test_maintained_aggregates_equal_a_rebuild_and_survive_a_replay(stack: StackInfo) -> None:
    conn = await aio_pika.connect(stack.amqp_url)
    channel = await conn.channel(publisher_confirms=True)
    watch = await channel.declare_queue(exclusive=True)
    await watch.bind(f"{stack.namespace}.events", routing_key="ticket.#")
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:8]
    envs = [build_envelope(s, seq=i + 1, run_id=run, now=now)
            for i, s in enumerate([s for s in SAMPLES if s.channel == "hotline"][:6])]
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        for env in envs:
            await pub.publish(env)
    keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envs]
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db, keys, timeout=90)
    assert len(found) >= 4, f"only {len(found)} of {len(keys)} dispatched"
    tickets = sorted(found.values(), key=lambda d: d["_id"])[:4]
    for i, doc in enumerate(tickets):  # sign, reply, then revisit (satisfied / not)
        lead, no = doc["lifecycle"]["lead"], doc["_id"]
        dept = {"role": "department", "department": lead, "actor": lead}
        steps = [{"action": "sign", **dept}, {"action": "reply", "summary": "已处理", **dept},
                 {"action": "revisit", "role": "system", "actor": "revisit_system",
                  "satisfaction": "不满意" if i == 3 else "满意"}]
        for n, step in enumerate(steps):
            await _command(channel, stack.namespace, {"type": "dispatcher.command",
                                                      "command_id": f"{run}-{no}-{n}",
                                                      "ticket_no": no, **step})
            # one command at a time per order: wait for the state it leads to
            want = ["signed", "replied", "dispatched" if i == 3 else "closed"][n]
            got = await _wait_state(stack, no, want, 3 + n)
            assert got and got["status"] == want, (no, want, got and got["status"])

    store = Store(stack.mongo_url, stack.mongo_db)
    repo = AnalyticsRepository(store)
    day = now.astimezone(LIMITS.tz).date()
    period = period_for(start=day - timedelta(days=1), end=day + timedelta(days=1))
    try:
        async def diffs() -> list[Any]:
            return await compare(repo, period, await rebuild(repo, period, LIMITS))

        assert await eventually(diffs, lambda d: d == [], timeout=60, poll=1.0) == []

        async def maintained() -> dict[str, int]:
            rows = [r for p in rebuild_partitions(period) if p.startswith("d|")
                    for r in await repo.partition(p)]
            return totals(rows)

        before = await maintained()
        assert before["signed"] >= 4 and before["replied"] >= 4 and before["resolved"] >= 3
        assert before["sat_yes"] >= 3 and before["sat_no"] >= 1 and before["reopened"] >= 1
        assert before["received"] >= len(found) and before["dispatched"] >= len(found) + 1

        # Replay every event seen so far: nothing is counted twice.
        replay = []
        while (msg := await watch.get(no_ack=True, fail=False)) is not None:
            replay.append(msg)
        port = stack.ports("analytics")
        dup0 = metric_sum(port, "suqiu_consumer_messages_total", outcome="duplicate")
        events = await channel.get_exchange(f"{stack.namespace}.events")
        bound = 0
        for msg in replay:
            await events.publish(aio_pika.Message(msg.body, message_id=msg.message_id,
                                                  content_type="application/json"),
                                 routing_key=msg.routing_key or "")
            bound += msg.routing_key in {"ticket.classified", "ticket.dispatched", "ticket.signed",
                                         "ticket.replied", "ticket.closed", "ticket.reopened"}
        assert bound > 10

        async def dups() -> float:
            return metric_sum(port, "suqiu_consumer_messages_total", outcome="duplicate") - dup0

        assert await eventually(dups, lambda n: n >= bound, timeout=60) >= bound
        assert await maintained() == before
        assert await diffs() == []
        assert metric_sum(port, "suqiu_consumer_messages_total", outcome="rejected") == 0
    finally:
        await store.close()
        await conn.close()
