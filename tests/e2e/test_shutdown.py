"""Graceful shutdown under load: SIGTERM one of two classifiers in the middle of a burst.

The worker must stop consuming, finish and ack its in-flight messages, close its connections
and exit 0 within the bound; its unacked prefetch goes back to the queue for the other
replica. Every complaint must end classified once and, unless it rests at the triage desk,
dispatched exactly once: nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from suqiu.channel_client import ChannelPublisher
from suqiu.samples import sample_envelopes
from suqiu.shared.topology import Topology
from suqiu.stack import Stack
from tests.e2e.helpers import metric_sum, mongo
from tests.ops.helpers import wait_settled

pytestmark = pytest.mark.e2e

N = 300
GRACEFUL_TIMEOUT = 10.0
BOUND = GRACEFUL_TIMEOUT + 5.0  # the graceful timeout plus closing connections and exit


async def _queue_depths(amqp_url: str, topo: Topology) -> dict[str, int]:
    import aio_pika

    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        depths = {}
        for wq in topo.work_queues():
            for name in (wq.name, wq.dlq):
                q = await channel.declare_queue(name, passive=True)
                depths[name] = q.declaration_result.message_count or 0
        return depths
    finally:
        await conn.close()


async def test_sigterm_under_load_loses_and_duplicates_nothing(
        tmp_path: Path, amqp_url: str, mongo_url: str) -> None:
    ns = "g" + uuid.uuid4().hex[:12]
    st = Stack(tmp_path, amqp_url=amqp_url, mongo_url=mongo_url, namespace=ns, mongo_db=ns,
               replicas={"classifier": 2},
               extra_env={"SUQIU_GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT)})
    info = await asyncio.to_thread(st.start)
    try:
        victim_info, victim = next((i, p) for i, p in st.processes() if i.name == "classifier#1")
        envs = sample_envelopes(N, run_id=uuid.uuid4().hex[:8], now=datetime.now(UTC))
        async with ChannelPublisher(amqp_url, ns) as pub:
            publishing = asyncio.create_task(pub.publish_many(envs))
            # Mid-burst: once the victim has handled some messages, with more still coming.
            deadline = time.monotonic() + 60
            while metric_sum([victim_info.port], "suqiu_classifier_classified_total") < 20:
                assert time.monotonic() < deadline, "classifier#1 never started working"
                await asyncio.sleep(0.05)
            handled_before = metric_sum([victim_info.port], "suqiu_classifier_classified_total")
            classifiers = [p.port for p in info.processes if p.name.startswith("classifier#")]
            all_before = metric_sum(classifiers, "suqiu_classifier_classified_total")
            sent = time.monotonic()
            victim.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(victim.wait, BOUND + 10)
            took = time.monotonic() - sent
            await publishing
        assert code == 0, f"classifier#1 exited with {code}"
        assert took <= BOUND, f"classifier#1 took {took:.1f}s to stop (bound {BOUND}s)"
        # Under load: most of the burst was still to be classified when the signal came.
        assert all_before < N / 2, f"{all_before} of {N} already classified at SIGTERM"
        print(f"SIGTERM after {handled_before:.0f} by the victim, {all_before:.0f} in all; "
              f"exited {code} in {took:.1f}s")

        keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envs]
        found = await wait_settled(mongo_url, ns, keys, timeout=120)
        assert len(found) == N, f"{N - len(found)} complaints lost"

        client = mongo(mongo_url)
        try:
            tickets = await client[ns]["tickets"].find({}).to_list(None)
        finally:
            await client.close()
        assert len(tickets) == N
        for t in tickets:
            # near-duplicate complaints merge under a mass-incident master: their own lines
            actions = Counter(h["action"] for h in t["history"] if h["action"] != "merge")
            # Dispatched exactly once; a low-confidence order rests at triage, undispatched.
            expected = {"receive": 1, "classify": 1}
            if t["status"] == "dispatched":
                expected["dispatch"] = 1
            assert actions == expected, (t["_id"], t["status"], actions)
        assert sum(t["status"] == "dispatched" for t in tickets) >= N // 2
        # The survivor took over what the victim had not acked; classified exactly N in total.
        survivor = [p.port for p in info.processes if p.name == "classifier#2"]
        assert metric_sum(survivor, "suqiu_classifier_classified_total") + handled_before <= N
        depths = await _queue_depths(amqp_url, Topology(ns))
        assert depths[f"{ns}.classifier.work"] == 0
        assert all(v == 0 for k, v in depths.items() if k.endswith(".dlq")), depths

        log = [json.loads(line) for line in Path(victim_info.log).read_text("utf-8").splitlines()]
        events = [r.get("event") for r in log]
        assert "service_stopping" in events and "service_stopped" in events
        assert events.index("service_stopping") < events.index("service_stopped")
    finally:
        codes = await asyncio.to_thread(st.stop)
        await Topology(ns).delete(amqp_url)
    assert all(c == 0 for c in codes.values()), codes
