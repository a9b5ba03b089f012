"""The five services as separate processes against the real RabbitMQ and Mongo-protocol
server, fed exactly as channel systems feed them."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import pytest

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.topology import Topology
from suqiu.stack import StackInfo
from tests.e2e.helpers import eventually, metric_sum, mongo, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[StackInfo]:
    with running_stack(tmp_path_factory.mktemp("stack"), amqp_url, mongo_url, "e", extra_env={
                       "SUQIU_LOG_LEVEL": "DEBUG",
                       # An empty quiet window: receipts are sent at once whatever the hour
                       # (quiet hours are tested with an injected clock in test_notifier_*).
                       "SUQIU_NOTIFIER_QUIET_START": "00:00", "SUQIU_NOTIFIER_QUIET_END": "00:00"}) as info:
        yield info


_PEOPLE = itertools.count(1)


def _envelope(channel: str, run: str, seq: int = 1) -> dict:
    """A complaint from a person nobody else in this module is: the same text from the same
    phone within a day would be linked to the earlier ticket (a repeat submission)."""
    sample = next(s for s in SAMPLES if s.channel == channel and s.phone)
    person = next(_PEOPLE)  # build_envelope gives round N of the samples a different phone
    return build_envelope(sample, seq=person * len(SAMPLES) + seq, run_id=run,
                          now=datetime.now(UTC))


def _key(env: dict) -> str:
    return f"{env['channel']}:{env['channel_message_id']}"


async def test_hotline_and_web_complaints_reach_dispatched(stack: StackInfo) -> None:
    run = uuid.uuid4().hex[:8]
    envs = [_envelope("hotline", run), _envelope("web", run)]
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        for env in envs:
            await pub.publish(env)
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db, [_key(e) for e in envs],
                                   timeout=60)
    assert len(found) == 2
    for env in envs:
        doc = found[_key(env)]
        assert doc["status"] == "dispatched"
        assert doc["content"]["text"] == env["content"]["text"]
        c = doc["classification"]
        assert c["category"] and c["department"] and c["severity"] in {
            "urgent", "major", "important", "general"}
        assert c["region"]["city"] == "杭州市"
        assert doc["dispatch"]["department"] == c["department"]
        assert doc["sla"]["steps"]["resolution"]["due_at"] > doc["dispatch"]["dispatched_at"]
        assert doc["sla"]["policy_version"].startswith("sla-")
        assert [h["action"] for h in doc["history"]] == ["receive", "classify", "dispatch"]

    client = mongo(stack.mongo_url)
    try:
        receipts = await eventually(
            lambda: client[stack.mongo_db]["notifications"].find(
                {"ticket_no": {"$in": [d["_id"] for d in found.values()]},
                 "event_type": "ticket.received"}).to_list(None),
            lambda r: len(r) == 2 and all(n["state"] == "sent" for n in r))
    finally:
        await client.close()
    assert len(receipts) == 2 and all(n["state"] == "sent" for n in receipts)
    assert all(n["channel"] == "sms" and "****" in n["recipient_masked"] for n in receipts)
    outbox = [json.loads(line) for line in Path(stack.sms_outbox).read_text("utf-8").splitlines()]
    for doc in found.values():
        assert any(doc["_id"] in sms["text"] for sms in outbox), "receipt SMS not delivered"

    # Each service's /metrics counts the messages it handled.
    assert metric_sum(stack.ports("intake"), "suqiu_intake_tickets_total",
                      channel="hotline", outcome="created") >= 1
    assert metric_sum(stack.ports("intake"), "suqiu_intake_tickets_total",
                      channel="web", outcome="created") >= 1
    assert metric_sum(stack.ports("classifier"), "suqiu_classifier_classified_total") >= 2
    assert metric_sum(stack.ports("dispatcher"), "suqiu_dispatcher_dispatched_total") >= 2
    assert metric_sum(stack.ports("sla_monitor"), "suqiu_sla_timers_written_total") >= 4
    assert metric_sum(stack.ports("notifier"), "suqiu_notifier_notifications_total",
                      channel="sms", outcome="sent") >= 2
    for service in ("intake", "classifier", "dispatcher", "sla_monitor", "notifier"):
        assert metric_sum(stack.ports(service), "faststream_received_messages_total") >= 1, service


async def test_same_intake_message_twice_yields_one_ticket(stack: StackInfo) -> None:
    env = _envelope("hotline", uuid.uuid4().hex[:8])
    dup_before = metric_sum(stack.ports("intake"), "suqiu_intake_tickets_total",
                            outcome="duplicate")
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        await pub.publish(env)
        await pub.publish(env)
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db, [_key(env)], timeout=60)
    assert _key(env) in found

    async def duplicates() -> float:
        return metric_sum(stack.ports("intake"), "suqiu_intake_tickets_total",
                          outcome="duplicate")

    assert await eventually(duplicates, lambda v: v >= dup_before + 1) >= dup_before + 1
    client = mongo(stack.mongo_url)
    try:
        tickets = await client[stack.mongo_db]["tickets"].find(
            {"intake_key": _key(env)}).to_list(None)
        receipts = await client[stack.mongo_db]["notifications"].find(
            {"ticket_no": tickets[0]["_id"], "event_type": "ticket.received"}).to_list(None)
    finally:
        await client.close()
    assert len(tickets) == 1
    assert len(receipts) == 1, "a redelivered event must not send a second receipt"


async def test_malformed_intake_is_dead_lettered_and_intake_keeps_consuming(
        stack: StackInfo) -> None:
    run = uuid.uuid4().hex[:8]
    bad_json = b'{"channel": "hotline", "content": '
    missing_content = _envelope("web", run, seq=1)
    del missing_content["content"]
    good = _envelope("web", run, seq=2)
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        await pub.publish({"channel": "hotline"}, body=bad_json, message_id=f"bad-{run}")
        await pub.publish(missing_content)
        await pub.publish(good)
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db, [_key(good)], timeout=60)
    assert _key(good) in found, "intake stopped consuming after bad input"

    client = mongo(stack.mongo_url)
    try:
        rejected = await eventually(
            lambda: client[stack.mongo_db]["rejected_messages"].find(
                {"message_id": {"$in": [f"bad-{run}", missing_content["channel_message_id"]]}}
            ).to_list(None),
            lambda r: len(r) == 2)
    finally:
        await client.close()
    by_id = {r["message_id"]: r for r in rejected}
    assert by_id[f"bad-{run}"]["reason"] == "invalid_json"
    assert by_id[f"bad-{run}"]["body_text"] == bad_json.decode()
    schema = by_id[missing_content["channel_message_id"]]
    assert schema["reason"] == "validation_failed"
    assert {"field": "content", "reason": "missing"} in [
        {"field": e["field"], "reason": e["reason"]} for e in schema["errors"]]
    assert json.loads(schema["body_text"]) == missing_content

    conn = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await conn.channel()
        dlq = await channel.get_queue(Topology(stack.namespace).work_queue("intake").dlq)
        dead = []
        for _ in range(10):
            msg = await dlq.get(no_ack=True, fail=False)
            if msg is None:
                break
            dead.append(msg)
    finally:
        await conn.close()
    reasons = {m.message_id: m.headers["x-suqiu-error-reason"] for m in dead}
    assert reasons[f"bad-{run}"] == "invalid_json"
    assert reasons[missing_content["channel_message_id"]] == "validation_failed"
    detail = next(m for m in dead if m.message_id == missing_content["channel_message_id"])
    assert "content" in detail.headers["x-suqiu-error-detail"]
    assert detail.body == json.dumps(missing_content, ensure_ascii=False).encode()


def test_logs_are_json_with_ids_and_free_of_personal_data(stack: StackInfo) -> None:
    """Runs after the tests above (module order): their complaints went through DEBUG logs."""
    mobile = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")  # any mobile number
    names = {s.name for s in SAMPLES if s.name}
    handled = 0
    for proc in stack.processes:
        if proc.name in ("nx-27017", "sms-sandbox"):
            continue
        for line in Path(proc.log).read_text("utf-8").splitlines():
            record = json.loads(line)  # every line is one JSON object
            assert not mobile.search(line.replace(" ", "")), f"phone number in {proc.name} log"
            assert not any(n in line for n in names), f"name in {proc.name} log"
            if record.get("event") == "message_handled":
                handled += 1
                assert record.get("message_id") and record.get("ticket_no"), record
    assert handled >= 5
