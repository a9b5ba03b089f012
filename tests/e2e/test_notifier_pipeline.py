"""The notifier as a process in the whole pipeline: a complaint's receipt, its dispatch notice
and a later result (ticket.replied, published as the dispatcher will) are each sent once, and
the per-ticket delivery log is served over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import httpx
import pytest

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.contracts import TicketReplied
from suqiu.stack import StackInfo
from tests.e2e.helpers import eventually, metric_sum, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[StackInfo]:
    with running_stack(tmp_path_factory.mktemp("stack"), amqp_url, mongo_url, "n", extra_env={
                       "SUQIU_NOTIFIER_QUIET_START": "00:00", "SUQIU_NOTIFIER_QUIET_END": "00:00"}) as info:
        yield info


async def _publish_event(stack: StackInfo, event: TicketReplied) -> None:
    conn = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await conn.channel()
        exchange = await channel.get_exchange(f"{stack.namespace}.events")
        await exchange.publish(aio_pika.Message(
            event.model_dump_json().encode(), message_id=event.event_id,
            content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=event.type)
    finally:
        await conn.close()


def _delivery_log(stack: StackInfo, ticket_no: str) -> list[dict]:
    [port] = stack.ports("notifier")
    resp = httpx.get(f"http://127.0.0.1:{port}/notifier/tickets/{ticket_no}/notifications",
                     timeout=5)
    resp.raise_for_status()
    return list(resp.json()["notifications"])


async def test_receipt_dispatch_notice_and_result_each_sent_once(stack: StackInfo) -> None:
    sample = next(s for s in SAMPLES if s.channel == "hotline" and s.phone)
    env = build_envelope(sample, seq=1, run_id=uuid.uuid4().hex[:8], now=datetime.now(UTC))
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        await pub.publish(env)
    key = f"{env['channel']}:{env['channel_message_id']}"
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db, [key], timeout=60)
    doc = found[key]
    ticket_no = doc["_id"]

    replied = TicketReplied(event_id=f"{ticket_no}:replied:1", ticket_no=ticket_no,
                            occurred_at=datetime.now(UTC), intake_at=doc["received_at"],
                            department=doc["dispatch"]["department"], summary="已处理完毕")
    await _publish_event(stack, replied)
    await _publish_event(stack, replied)  # redelivered: must not send twice

    async def entries() -> list[dict]:
        return await asyncio.to_thread(_delivery_log, stack, ticket_no)

    log = await eventually(entries, lambda e: {"ticket.received", "ticket.dispatched",
                                               "ticket.replied"} <= {x["event_type"] for x in e}
                           and all(x["state"] == "sent" for x in e), timeout=60)
    by_event = {(x["event_type"], x["channel"]) for x in log}
    assert {("ticket.received", "sms"), ("ticket.dispatched", "inbox"),
            ("ticket.replied", "sms")} <= by_event
    assert len([x for x in log if x["event_type"] == "ticket.replied"]) == 1
    assert all(x["state"] == "sent" for x in log)
    assert all("****" in x["recipient_masked"] for x in log if x["channel"] == "sms")

    [port] = stack.ports("notifier")
    dedup = await eventually(
        lambda: asyncio.to_thread(metric_sum, [port], "suqiu_notifier_notifications_total",
                                  event="ticket.replied", outcome="deduplicated"),
        lambda v: v >= 1)
    assert dedup >= 1
    assert stack.sms_outbox is not None
    outbox = [json.loads(line) for line in Path(stack.sms_outbox).read_text("utf-8").splitlines()]
    texts = [m["text"] for m in outbox if ticket_no in m["text"]]
    assert len(texts) == 2 and any("办理答复" in t for t in texts)
