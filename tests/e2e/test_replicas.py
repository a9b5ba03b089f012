"""Competing consumers: two classifiers and two dispatchers, 200 complaints, no duplicates."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import sample_envelopes
from suqiu.shared.topology import Topology
from suqiu.stack import Stack
from tests.e2e.helpers import eventually, metric_sum, mongo

pytestmark = pytest.mark.e2e

N = 200


async def test_two_replicas_each_complaint_one_ticket_one_dispatch(
        tmp_path, amqp_url: str, mongo_url: str) -> None:
    ns = "r" + uuid.uuid4().hex[:12]
    st = Stack(tmp_path, amqp_url=amqp_url, mongo_url=mongo_url, namespace=ns, mongo_db=ns,
               replicas={"classifier": 2, "dispatcher": 2})
    info = await asyncio.to_thread(st.start)
    try:
        envs = sample_envelopes(N, run_id=uuid.uuid4().hex[:8], now=datetime.now(UTC))
        async with ChannelPublisher(amqp_url, ns) as pub:
            await pub.publish_many(envs)
        keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envs]
        found = await wait_for_tickets(mongo_url, ns, keys, timeout=180)
        assert len(found) == N, f"{N - len(found)} complaints did not reach dispatched"

        client = mongo(mongo_url)
        try:
            tickets = await client[ns]["tickets"].find({}).to_list(None)
            inbox = await eventually(
                lambda: client[ns]["inbox"].find({"event_type": "ticket.dispatched"}).to_list(None),
                lambda r: len(r) >= N)
        finally:
            await client.close()
        assert len(tickets) == N
        assert len({t["intake_key"] for t in tickets}) == N
        for t in tickets:
            # near-duplicate complaints merge under a mass-incident master: their own lines
            actions = Counter(h["action"] for h in t["history"] if h["action"] != "merge")
            assert actions == {"receive": 1, "classify": 1, "dispatch": 1}, t["_id"]
        assert len(inbox) == N and len({i["ticket_no"] for i in inbox}) == N

        assert len(info.ports("classifier")) == 2 and len(info.ports("dispatcher")) == 2
        assert metric_sum(info.ports("classifier"), "suqiu_classifier_classified_total") == N
        assert metric_sum(info.ports("dispatcher"), "suqiu_dispatcher_dispatched_total") == N
    finally:
        codes = await asyncio.to_thread(st.stop)
        await Topology(ns).delete(amqp_url)
    assert all(code == 0 for code in codes.values()), codes
