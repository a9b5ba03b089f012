"""`suqiu dlq` against what the real broker writes: a message that exceeds the quorum queue's
delivery limit is dead-lettered by RabbitMQ with `x-death`; the tool reads its origin from
there and replays it to the original exchange with the original routing key and message id,
removing it from the DLQ only after the confirm. No services run: the test nacks by hand."""

from __future__ import annotations

import asyncio
import json

import aio_pika
import pytest
from typer.testing import CliRunner

from suqiu.dlq import DeadLetterQueues, dlq_app
from suqiu.shared.topology import Topology

pytestmark = pytest.mark.integration


async def _exhaust_delivery_limit(amqp_url: str, topo: Topology, message_id: str) -> None:
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        events = await channel.get_exchange(topo.events_exchange)
        await events.publish(aio_pika.Message(b'{"type": "ticket.received"}', message_id=message_id,
                                              headers={"x-suqiu-ticket-no": "SQ-T-1"},
                                              delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                             routing_key="ticket.received")
        work = await channel.get_queue(topo.work_queue("classifier").name)
        for _ in range(topo.delivery_limit + 1):  # every delivery fails: nack and requeue
            msg = await work.get(timeout=5, fail=False)
            if msg is None:
                break
            await msg.nack(requeue=True)
    finally:
        await conn.close()


async def _wait(q: DeadLetterQueues, service: str, count: int) -> None:
    for _ in range(50):
        if (await q.counts())[service] == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service} DLQ never held {count}")


async def _drain(amqp_url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        q = await channel.get_queue(queue)
        got = []
        while (msg := await q.get(no_ack=True, fail=False)) is not None:
            got.append(msg)
        return got
    finally:
        await conn.close()


def test_broker_dead_letter_is_shown_and_replayed_to_its_origin(amqp_url: str,
                                                                namespace: str) -> None:
    topo = Topology(namespace, delivery_limit=1)
    asyncio.run(topo.declare(amqp_url))
    q = DeadLetterQueues(amqp_url, namespace)
    asyncio.run(_exhaust_delivery_limit(amqp_url, topo, "evt-1"))
    asyncio.run(_wait(q, "classifier", 1))
    # The notifier's queue got its own copy of the event; empty it to watch the replay.
    asyncio.run(_drain(amqp_url, topo.work_queue("notifier").name))

    runner = CliRunner()
    args = ["--amqp-url", amqp_url, "--namespace", namespace]
    shown = runner.invoke(dlq_app, ["show", "classifier", "--json", *args])
    assert shown.exit_code == 0, shown.output
    (letter,) = [json.loads(line) for line in shown.output.splitlines()]
    assert letter["message_id"] == "evt-1"
    assert letter["reason"] == "delivery_limit"
    assert letter["exchange"] == topo.events_exchange
    assert letter["routing_key"] == "ticket.received"
    assert letter["original_queue"] == topo.work_queue("classifier").name
    assert letter["headers"] == {"x-suqiu-ticket-no": "SQ-T-1"}

    replayed = runner.invoke(dlq_app, ["replay", "classifier", *args])
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1; left in the DLQ 0" in replayed.output
    asyncio.run(_wait(q, "classifier", 0))
    # Back on the original exchange with the original routing key: every bound queue has it.
    for service in ("classifier", "notifier"):
        (msg,) = asyncio.run(_drain(amqp_url, topo.work_queue(service).name))
        assert msg.message_id == "evt-1" and msg.body == b'{"type": "ticket.received"}'
        assert "x-death" not in (msg.headers or {})
        assert msg.headers["x-suqiu-replayed-from"] == topo.work_queue("classifier").dlq


def test_unroutable_replay_stays_in_the_dlq(amqp_url: str, namespace: str) -> None:
    topo = Topology(namespace)
    asyncio.run(topo.declare(amqp_url))

    async def put() -> None:
        conn = await aio_pika.connect(amqp_url)
        try:
            channel = await conn.channel(publisher_confirms=True)
            await channel.default_exchange.publish(aio_pika.Message(
                b"{}", message_id="lost-1",
                headers={"x-suqiu-error-reason": "invalid_json",
                         "x-suqiu-original-queue": topo.work_queue("intake").name,
                         "x-suqiu-original-exchange": topo.intake_exchange,
                         "x-suqiu-original-routing-key": "nowhere.at.all"}),
                routing_key=topo.work_queue("intake").dlq)
        finally:
            await conn.close()

    asyncio.run(put())
    q = DeadLetterQueues(amqp_url, namespace)
    asyncio.run(_wait(q, "intake", 1))
    result = CliRunner().invoke(dlq_app, ["replay", "intake", "--amqp-url", amqp_url,
                                          "--namespace", namespace])
    assert result.exit_code == 1 and "not replayed" in result.output, result.output
    asyncio.run(_wait(q, "intake", 1))  # still there: removed only after a confirmed republish
