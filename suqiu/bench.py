"""`suqiu bench`: throughput and latency of the whole pipeline, against the broker's own ceiling.

A benchmark script, not a test: one run measures three things on the same machine, in order.

Where it runs
    With `--use-running` and a `.run/stack.json` written by `suqiu up`, the stack described
    there is measured as it is (its namespace, store and replicas; `--replicas` is ignored).
    Otherwise the bench starts its own stack exactly as `suqiu up` would (nx-27017 unless
    MONGO_URL is set, the five services with `--replicas`, the sandbox SMS gateway) under
    `.run/bench`, namespace and database `suqiu_bench`, on an empty store (the old
    `.run/bench/mongo-data` and the namespace's queues and exchanges are deleted first), and
    always stops it at the end. RabbitMQ is the one already running (AMQP_URL).

Phase 1, broker ceiling (no service involved; the services are idle)
    aio-pika straight to RabbitMQ: a temporary durable quorum queue `<ns>.bench.ceiling`
    (deleted before and after). N persistent messages whose bodies are the sample intake
    envelopes (about 1.5 KB of JSON each, the same bodies phases 2 and 3 send) are published
    to it through the default exchange with publisher confirms, at most 500 unconfirmed.
    publish rate = N / (first publish -> last confirm). Then one consumer with prefetch 500
    acks every message one by one, as the services do: consume rate = N / (consume start ->
    N-th ack sent). ceiling = N / (publish time + consume time): the rate at which this broker
    on this machine moves one confirmed persistent message from a publisher to an acking
    consumer. It is the upper bound of a single hop; one ticket costs several hops
    (intake message; ticket.received to classifier and notifier; ticket.classified;
    ticket.dispatched to sla_monitor and notifier: 4 confirmed publishes, 6 deliveries),
    besides its store writes: with publish and consume costing about the same, a ticket is
    worth about 5 ceiling messages, so a ratio near 0.2 would mean the broker is the limit.

Phase 2, paced, and phase 3, full speed
    Each phase publishes N intake envelopes (the sample complaints in turn, a fresh run id per
    phase so every channel message id is new) with `ChannelPublisher.publish_many`, the client
    a channel system uses: persistent, publisher confirms, up to 200 unconfirmed. Phase 2 paces
    the publishes at `--rate` per second; phase 3 publishes as fast as the confirms allow.
    Each envelope is built at the moment it is published: its `received_at` (what a channel
    system stamps when it hands the complaint over) is `datetime.now(UTC)` taken immediately
    before the message is written to the broker, and the confirm time is recorded after the
    broker's ack. The bench then polls the store (`wait_for_tickets`, once a second) until
    every ticket has status `dispatched`; it gives up after 90 s without progress.

    latency (per ticket)  = ticket.dispatch.dispatched_at - ticket.received_at, both read
                            back from the store: received_at is the bench's stamp carried by
                            the envelope, dispatched_at is stamped by the dispatcher
                            (`datetime.now(UTC)`) when it applies the dispatch. Same host,
                            same clock; stored with millisecond precision. Percentiles are
                            nearest-rank over all dispatched tickets of the phase.
    throughput (tickets/s) = dispatched tickets / (latest dispatched_at - earliest
                            received_at) of the phase: from the first publish to the last
                            dispatch. In the paced phase it can only approach --rate; in the
                            full-speed phase it is the pipeline's capacity.
    ratio                  = throughput / ceiling.
    missing                = published - dispatched; any missing ticket makes the exit code 1.

    stages                 = where each ticket's time went, from the work order's own history
                            (each service stamps its entry when it applies its step):
                            queued+intake = received_at -> intake's `receive` entry,
                            classifier = -> `classify` entry, dispatcher = -> `dispatch`
                            entry. p50/p95 per stage; the stage that grows is the bottleneck
                            on the path to dispatched.

    drain s                = after the phase's last ticket is dispatched, the seconds until
                            every work queue of the namespace reads empty (ready +
                            unacknowledged, `rabbitmqctl list_queues`): work off the dispatch
                            path (receipts, SLA timers) the phase produced faster than it was
                            done. RabbitMQ refreshes quorum queues' counts only every 5 s, so
                            this has about 5 s resolution; the bench waits for two empty
                            readings 6 s apart (at most 10 minutes) before it goes on, so one
                            phase's backlog does not run into the next. rabbitmqctl runs only
                            between measurements (it starts an Erlang VM); without it the
                            bench falls back to ready counts from passive declares, which
                            miss unacknowledged messages.

    store commands/ticket  = store commands every service process sent during the phase
                            (their `suqiu_store_commands_total`, PyMongo command monitoring,
                            scraped before the phase and after its queues drained) / tickets
                            published: intake to dispatched, SLA timers and the receipt
                            included (see suqiu/bench_preload.py).
    retries                = handler retries during the phase (`suqiu_consumer_messages_total`
                            with outcome `retried`, every process).

    Dead letters added during the run are counted from the DLQs' ready counts.

Phases 4 and 5, after a preload (`--preload N`)
    Phases 2 and 3 run on the empty store first; then N historical orders over two years are
    inserted (suqiu/bench_preload.py) and both phases run again, so the same run shows the
    cost of a ticket on an empty store and on a store holding years of orders.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
from rich.console import Console
from rich.table import Table

from suqiu.bench_preload import PreloadResult, counters, preload
from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.topology import SERVICES, Topology
from suqiu.stack import Stack, StackInfo

__all__ = ["BenchResult", "CeilingResult", "PhaseResult", "run_bench"]

# Another stack on the same broker (a second checkout) may set its own namespace.
BENCH_NAMESPACE = os.environ.get("SUQIU_BENCH_NAMESPACE", "suqiu_bench")
CEILING_IN_FLIGHT = 500
CEILING_PREFETCH = 500
PUBLISH_IN_FLIGHT = 200
STALL_TIMEOUT = 90.0  # seconds without a newly dispatched ticket before giving up
DRAIN_TIMEOUT = 600.0
STATS_INTERVAL = 6.0  # RabbitMQ refreshes quorum queues' counts every 5 s (collect_statistics_interval)
STAGES = ("queued+intake", "classifier", "dispatcher")
STAGE_ACTIONS = (("receive", "queued+intake"), ("classify", "classifier"), ("dispatch", "dispatcher"))


@dataclass
class CeilingResult:
    messages: int
    body_bytes_avg: int
    publish_s: float
    consume_s: float
    publish_per_s: float
    consume_per_s: float
    ceiling_per_s: float


@dataclass
class PhaseResult:
    name: str
    target_rate: float | None
    published: int
    dispatched: int
    missing: int
    publish_s: float
    offered_per_s: float
    confirm_p50_ms: float | None
    throughput_per_s: float
    latency_ms: dict[str, float | None]
    ratio_to_ceiling: float
    wait_s: float
    stages_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    drain_s: float = 0.0
    store_commands_per_ticket: float | None = None
    store_commands_by_service: dict[str, float] = field(default_factory=dict)
    handler_retries: int = 0
    preloaded: int = 0


@dataclass
class BenchResult:
    started_at: str
    machine: dict[str, Any]
    stack: dict[str, Any]
    n: int
    ceiling: CeilingResult
    phases: list[PhaseResult]
    dead_lettered: dict[str, int]
    missing_total: int
    preload: dict[str, Any] | None = None


# --- helpers ----------------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _intake_key(envelope: dict[str, Any]) -> str:
    return f"{envelope['channel']}:{envelope['channel_message_id']}"


def _sample_bodies() -> list[bytes]:
    now = datetime.now(UTC)
    return [json.dumps(build_envelope(s, seq=i + 1, run_id="ceiling0", now=now),
                       ensure_ascii=False).encode() for i, s in enumerate(SAMPLES)]


async def _ready_counts(amqp_url: str, names: list[str]) -> dict[str, int]:
    """Ready messages per queue (passive declare); -1 for a queue that does not exist."""
    counts: dict[str, int] = {}
    conn = await aio_pika.connect(amqp_url)
    try:
        for name in names:
            channel = await conn.channel()
            try:
                q = await channel.declare_queue(name, passive=True)
                counts[name] = int(q.declaration_result.message_count or 0)
            except aio_pika.exceptions.ChannelClosed:
                counts[name] = -1
            finally:
                if not channel.is_closed:
                    await channel.close()
    finally:
        await conn.close()
    return counts


def _rabbitmqctl_counts(names: list[str]) -> dict[str, int] | None:
    """Ready + unacknowledged per queue from rabbitmqctl, or None when it is not usable."""
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-q", "list_queues", "name", "messages"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            found[parts[0]] = int(parts[1])
    return {n: found.get(n, -1) for n in names}


async def _queue_counts(amqp_url: str, names: list[str]) -> dict[str, int]:
    counts = await asyncio.to_thread(_rabbitmqctl_counts, names)
    return counts if counts is not None else await _ready_counts(amqp_url, names)


# --- phase 1 ----------------------------------------------------------------------------
async def measure_ceiling(amqp_url: str, namespace: str, n: int) -> CeilingResult:
    """Raw aio-pika: confirmed persistent publishes to a quorum queue, then consume + ack."""
    queue_name = f"{namespace}.bench.ceiling"
    bodies = _sample_bodies()
    conn = await aio_pika.connect(amqp_url)
    try:
        admin = await conn.channel()
        await admin.queue_delete(queue_name)
        channel = await conn.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        try:
            sem = asyncio.Semaphore(CEILING_IN_FLIGHT)

            async def one(i: int) -> None:
                try:
                    await channel.default_exchange.publish(
                        aio_pika.Message(bodies[i % len(bodies)],
                                         delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                         content_type="application/json",
                                         message_id=f"ceiling-{i}"),
                        routing_key=queue_name)
                finally:
                    sem.release()

            t0 = time.perf_counter()
            tasks = []
            for i in range(n):
                await sem.acquire()
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.gather(*tasks)
            publish_s = time.perf_counter() - t0

            consumer_channel = await conn.channel()
            await consumer_channel.set_qos(prefetch_count=CEILING_PREFETCH)
            cqueue = await consumer_channel.get_queue(queue_name)
            done = asyncio.Event()
            acked = 0

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                nonlocal acked
                await message.ack()
                acked += 1
                if acked >= n:
                    done.set()

            t1 = time.perf_counter()
            tag = await cqueue.consume(on_message)
            await asyncio.wait_for(done.wait(), timeout=max(60.0, n / 100))
            consume_s = time.perf_counter() - t1
            await cqueue.cancel(tag)
        finally:
            await queue.delete(if_unused=False, if_empty=False)
    finally:
        await conn.close()
    return CeilingResult(
        messages=n,
        body_bytes_avg=round(sum(len(b) for b in bodies) / len(bodies)),
        publish_s=publish_s, consume_s=consume_s,
        publish_per_s=n / publish_s, consume_per_s=n / consume_s,
        ceiling_per_s=n / (publish_s + consume_s),
    )


# --- phases 2 and 3 ---------------------------------------------------------------------
_PHASE_ROUNDS = itertools.count(1, 300)  # room for 300 x len(SAMPLES) complaints a phase


class _StampingPublisher(ChannelPublisher):
    """Builds each envelope the moment it is published, so received_at is the publish time.

    `publish_many` is fed small slots ({"seq", "channel"}); `publish` turns a slot into the
    real envelope with `now=datetime.now(UTC)` and records received_at and the confirm time.
    """

    def __init__(self, amqp_url: str, namespace: str, run_id: str) -> None:
        super().__init__(amqp_url, namespace)
        self.run_id = run_id
        self.first_round = next(_PHASE_ROUNDS)
        self.received: dict[str, datetime] = {}
        self.confirm_s: dict[str, float] = {}

    async def publish(self, envelope: dict[str, Any], *, body: bytes | None = None,
                      message_id: str | None = None) -> None:
        seq = int(envelope["seq"])
        # Each phase's complaints come from people of its own: build_envelope gives every
        # round over SAMPLES other phones, and intake links a person's repeat within 24 h.
        real = build_envelope(SAMPLES[(seq - 1) % len(SAMPLES)],
                              seq=seq + self.first_round * len(SAMPLES), run_id=self.run_id,
                              now=datetime.now(UTC))
        key = _intake_key(real)
        self.received[key] = datetime.fromisoformat(real["received_at"])
        t0 = time.perf_counter()
        await super().publish(real)
        self.confirm_s[key] = time.perf_counter() - t0


def _slots(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"seq": i + 1, "channel": SAMPLES[i % len(SAMPLES)].channel}


async def _wait_dispatched(info: StackInfo, keys: list[str], console: Console,
                           label: str, since: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Poll until every key is dispatched, or nothing new was dispatched for STALL_TIMEOUT."""
    found: dict[str, dict[str, Any]] = {}
    last_progress = time.monotonic()
    last_print = 0.0
    while len(found) < len(keys):
        pending = [k for k in keys if k not in found]
        got = await wait_for_tickets(info.mongo_url, info.mongo_db, pending,
                                     timeout=5.0, poll=1.0, since=since)
        if got:
            found.update(got)
            last_progress = time.monotonic()
        now = time.monotonic()
        if now - last_print >= 5 or len(found) == len(keys):
            console.print(f"  {label}: {len(found)}/{len(keys)} dispatched")
            last_print = now
        if len(found) < len(keys) and now - last_progress > STALL_TIMEOUT:
            console.print(f"  [red]{label}: no progress for {STALL_TIMEOUT:.0f}s, giving up[/red]")
            break
    return found


async def _drain(info: StackInfo, topology: Topology, console: Console) -> float:
    """Wait until the namespace's work queues are empty; returns the seconds waited."""
    names = [topology.work_queue(s).name for s in SERVICES]
    t0 = time.monotonic()
    shown = False
    empty_since: float | None = None
    while True:
        counts = await _queue_counts(info.amqp_url, names)
        backlog = {k.rsplit(".", 2)[-2]: v for k, v in counts.items() if v > 0}
        if backlog:
            empty_since = None
        elif empty_since is None:
            empty_since = time.monotonic()
        elif time.monotonic() - empty_since >= STATS_INTERVAL:
            return empty_since - t0
        if time.monotonic() - t0 > DRAIN_TIMEOUT:
            console.print(f"  [yellow]queues still not empty after {DRAIN_TIMEOUT:.0f}s: "
                          f"{backlog}[/yellow]")
            return time.monotonic() - t0
        if backlog and not shown:
            console.print(f"  waiting for the work queues to drain (RabbitMQ stats, <= 5 s old): "
                          f"{backlog}")
            shown = True
        await asyncio.sleep(2.0)


def _stage_latencies(docs: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """p50/p95 of each step's share of intake -> dispatched, from the orders' history."""
    per_stage: dict[str, list[float]] = {name: [] for name in STAGES}
    for doc in docs:
        at = {h.get("action"): h.get("at") for h in doc.get("history") or []}
        prev = doc["received_at"]
        for action, stage in STAGE_ACTIONS:
            if at.get(action) is None:
                break
            per_stage[stage].append((at[action] - prev).total_seconds() * 1000)
            prev = at[action]
    out: dict[str, dict[str, float | None]] = {}
    for stage, values in per_stage.items():
        values.sort()
        out[stage] = {"p50": percentile(values, 50), "p95": percentile(values, 95)}
    return out


async def run_phase(info: StackInfo, topology: Topology, name: str, n: int,
                    rate: float | None, ceiling: float, console: Console) -> PhaseResult:
    run_id = uuid.uuid4().hex[:8]
    before = await asyncio.to_thread(counters, info)
    pub = _StampingPublisher(info.amqp_url, info.namespace, run_id)
    what = f"at {rate:g}/s" if rate else "at full speed"
    console.print(f"[bold]{name}[/bold]: publishing {n} intake messages {what} (run id {run_id})")
    t0 = time.perf_counter()
    async with pub:
        await pub.publish_many(_slots(n), rate=rate, in_flight=PUBLISH_IN_FLIGHT)
    publish_s = time.perf_counter() - t0
    console.print(f"  published and confirmed in {publish_s:.1f}s")
    keys = list(pub.received)
    t1 = time.perf_counter()
    found = await _wait_dispatched(info, keys, console, name,
                                   since=min(pub.received.values()) - timedelta(seconds=1))
    wait_s = time.perf_counter() - t1

    latencies: list[float] = []
    last_dispatch: datetime | None = None
    for doc in found.values():
        dispatched_at: datetime = doc["dispatch"]["dispatched_at"]
        latencies.append((dispatched_at - doc["received_at"]).total_seconds() * 1000)
        last_dispatch = dispatched_at if last_dispatch is None else max(last_dispatch, dispatched_at)
    latencies.sort()
    first_publish = min(pub.received.values())
    span = (last_dispatch - first_publish).total_seconds() if last_dispatch else 0.0
    throughput = len(found) / span if span > 0 else 0.0
    confirms = sorted(v * 1000 for v in pub.confirm_s.values())
    drain_s = await _drain(info, topology, console)
    after = await asyncio.to_thread(counters, info)
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    return PhaseResult(
        name=name, target_rate=rate, published=len(keys), dispatched=len(found),
        missing=len(keys) - len(found), publish_s=publish_s,
        offered_per_s=len(keys) / publish_s if publish_s > 0 else 0.0,
        confirm_p50_ms=percentile(confirms, 50),
        throughput_per_s=throughput,
        latency_ms={"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                    "p99": percentile(latencies, 99), "max": latencies[-1] if latencies else None},
        ratio_to_ceiling=throughput / ceiling if ceiling > 0 else 0.0,
        wait_s=wait_s, stages_ms=_stage_latencies(list(found.values())),
        drain_s=drain_s,
        store_commands_per_ticket=delta["store_commands"] / len(keys) if keys else None,
        store_commands_by_service={k.split(".", 1)[1]: round(v / len(keys), 2)
                                   for k, v in delta.items()
                                   if k.startswith("store_commands.") and keys},
        handler_retries=int(delta.get("retries", 0)),
    )


async def _bench(info: StackInfo, n: int, rate: float, console: Console, preload_n: int = 0,
                 ) -> tuple[CeilingResult, list[PhaseResult], dict[str, int], PreloadResult | None]:
    topology = Topology(info.namespace)
    dlqs = [topology.work_queue(s).dlq for s in SERVICES]
    dlq_before = await _ready_counts(info.amqp_url, dlqs)

    console.print(f"[bold]Phase 1, broker ceiling[/bold]: {n} confirmed persistent messages "
                  f"through quorum queue {info.namespace}.bench.ceiling ...")
    ceiling = await measure_ceiling(info.amqp_url, info.namespace, n)
    console.print(f"  publish {ceiling.publish_per_s:,.0f}/s, consume+ack "
                  f"{ceiling.consume_per_s:,.0f}/s, ceiling {ceiling.ceiling_per_s:,.0f}/s")

    await _drain(info, topology, console)  # a running stack may still be busy
    phases = []
    for name, phase_rate in (("Phase 2, paced", rate), ("Phase 3, full speed", None)):
        phases.append(await run_phase(info, topology, name, n, phase_rate,
                                      ceiling.ceiling_per_s, console))
    loaded: PreloadResult | None = None
    if preload_n:
        console.print(f"[bold]Preload[/bold]: {preload_n:,} historical orders over two years ...")

        def progress(done: int, total: int, seconds: float) -> None:
            console.print(f"  {done:,}/{total:,} orders in {seconds:.0f}s")

        loaded = await preload(info.mongo_url, info.mongo_db, preload_n, progress=progress)
        console.print(f"  loaded {loaded.count:,} orders ({loaded.closed:,} closed, "
                      f"{loaded.people:,} people) in {loaded.seconds:.0f}s")
        await _drain(info, topology, console)
        for name, phase_rate in (("Phase 4, paced, preloaded", rate),
                                 ("Phase 5, full speed, preloaded", None)):
            phase = await run_phase(info, topology, name, n, phase_rate,
                                    ceiling.ceiling_per_s, console)
            phase.preloaded = preload_n
            phases.append(phase)

    dlq_after = await _ready_counts(info.amqp_url, dlqs)
    dead = {q: dlq_after[q] - max(0, dlq_before.get(q, 0)) for q in dlqs
            if dlq_after.get(q, 0) - max(0, dlq_before.get(q, 0)) > 0}
    return ceiling, phases, dead, loaded


# --- report -----------------------------------------------------------------------------
def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _report(result: BenchResult, console: Console) -> None:
    m, c = result.machine, result.ceiling
    console.print()
    console.print(f"[bold]suqiu bench[/bold]  {result.started_at}")
    console.print(f"machine: {m['nproc']} CPU(s), {m['platform']}, Python {m['python']}")
    console.print(f"stack: {result.stack['source']}, namespace {result.stack['namespace']}, "
                  f"store {result.stack['store']}; replicas "
                  + ", ".join(f"{k}={v}" for k, v in result.stack["replicas"].items()))
    console.print(f"N = {result.n} per phase; intake body ~{c.body_bytes_avg} bytes")

    ct = Table(title="Broker ceiling (aio-pika, quorum queue, persistent, confirms)")
    for col in ("messages", "publish msg/s", "consume+ack msg/s", "ceiling msg/s",
                "publish s", "consume s"):
        ct.add_column(col, justify="right")
    ct.add_row(str(c.messages), f"{c.publish_per_s:,.0f}", f"{c.consume_per_s:,.0f}",
               f"{c.ceiling_per_s:,.0f}", f"{c.publish_s:.2f}", f"{c.consume_s:.2f}")
    console.print(ct)

    pt = Table(title="Pipeline: intake -> dispatched")
    for col in ("phase", "offered/s", "published", "dispatched", "missing", "tickets/s",
                "p50 ms", "p95 ms", "p99 ms", "max ms", "store cmds/ticket", "retries"):
        pt.add_column(col, justify="left" if col == "phase" else "right")
    for p in result.phases:
        target = f"{p.target_rate:g} (got {p.offered_per_s:,.0f})" if p.target_rate \
            else f"max ({p.offered_per_s:,.0f})"
        pt.add_row(p.name, target, str(p.published), str(p.dispatched),
                   f"[red]{p.missing}[/red]" if p.missing else "0",
                   f"{p.throughput_per_s:,.1f}", _ms(p.latency_ms["p50"]),
                   _ms(p.latency_ms["p95"]), _ms(p.latency_ms["p99"]), _ms(p.latency_ms["max"]),
                   "-" if p.store_commands_per_ticket is None
                   else f"{p.store_commands_per_ticket:.1f}",
                   f"[red]{p.handler_retries}[/red]" if p.handler_retries else "0")
    console.print(pt)
    for p in result.phases:
        console.print(f"  {p.name}: store commands per ticket by service "
                      + ", ".join(f"{k} {v:g}" for k, v in sorted(p.store_commands_by_service.items()))
                      + f"; ratio to ceiling {p.ratio_to_ceiling:.3f}")
    if result.preload:
        pre = result.preload
        console.print(f"preloaded {pre['count']:,} historical orders ({pre['closed']:,} closed, "
                      f"{pre['people']:,} people) in {pre['seconds']:.0f}s")
        empty = next((p for p in result.phases if p.name.startswith("Phase 3")), None)
        full = next((p for p in result.phases if p.name.startswith("Phase 5")), None)
        if empty and full and empty.throughput_per_s:
            console.print(f"full speed after the preload: {full.throughput_per_s:.1f}/s = "
                          f"{full.throughput_per_s / empty.throughput_per_s:.0%} of the empty "
                          f"store's {empty.throughput_per_s:.1f}/s")

    st = Table(title="Where the time went: intake -> dispatched per step, p50 / p95 ms "
                     "(from the work orders' history)")
    st.add_column("phase")
    for stage in STAGES:
        st.add_column(stage, justify="right")
    st.add_column("drain s (off-path backlog)", justify="right")
    for p in result.phases:
        st.add_row(p.name,
                   *(f"{_ms(p.stages_ms[x]['p50'])} / {_ms(p.stages_ms[x]['p95'])}" for x in STAGES),
                   f"{p.drain_s:.0f}")
    console.print(st)
    if result.dead_lettered:
        console.print(f"[yellow]dead-lettered during the run: {result.dead_lettered}[/yellow]")
    if result.missing_total:
        console.print(f"[red]{result.missing_total} ticket(s) did not reach dispatched[/red]")


def _replicas_of(info: StackInfo) -> dict[str, int]:
    counts = dict.fromkeys(SERVICES, 0)
    for p in info.processes:
        service = p.name.split("#", 1)[0]
        if service in counts:
            counts[service] += 1
    return counts


def run_bench(run_dir: Path, state_path: Path, *, n: int = 2000, rate: float = 20.0,
              replicas: dict[str, int] | None = None, use_running: bool = False,
              json_out: Path | None = None, preload_n: int = 0) -> int:
    """Run the three phases; print the report; 0 when every ticket reached dispatched."""
    if n < 1 or rate <= 0:
        raise ValueError("n must be >= 1 and rate > 0")
    console = Console(width=None if sys.stdout.isatty() else 150)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    stack: Stack | None = None
    if use_running and state_path.exists():
        info = StackInfo.load(state_path)
        source = f"running stack from {state_path}"
        if replicas:
            console.print("[yellow]--replicas is ignored with --use-running[/yellow]")
    else:
        if use_running:
            console.print(f"[yellow]{state_path} not found: starting a bench stack[/yellow]")
        shutil.rmtree(run_dir / "mongo-data", ignore_errors=True)
        amqp_url = os.environ.get("AMQP_URL")
        stack = Stack(run_dir, amqp_url=amqp_url, namespace=BENCH_NAMESPACE,
                      mongo_db=BENCH_NAMESPACE, replicas=replicas)
        asyncio.run(Topology(BENCH_NAMESPACE).delete(stack.amqp_url))  # leftovers of a past run
        console.print(f"Starting a bench stack under {run_dir} (namespace {BENCH_NAMESPACE}) ...")
        info = stack.start()
        source = f"own stack under {run_dir}"
    try:
        ceiling, phases, dead, loaded = asyncio.run(_bench(info, n, rate, console, preload_n))
    finally:
        if stack is not None:
            codes = stack.stop()
            console.print("Stopped the bench stack: "
                          + ", ".join(f"{k}={v}" for k, v in codes.items()))
    missing = sum(p.missing for p in phases)
    result = BenchResult(
        started_at=started_at,
        machine={"nproc": os.cpu_count(), "python": platform.python_version(),
                 "platform": platform.platform(terse=True)},
        stack={"source": source, "namespace": info.namespace,
               "store": "nx-27017" if stack is not None and not stack.mongo_url else info.mongo_url,
               "replicas": _replicas_of(info)},
        n=n, ceiling=ceiling, phases=phases, dead_lettered=dead, missing_total=missing,
        preload=asdict(loaded) if loaded else None,
    )
    _report(result, console)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
        console.print(f"JSON written to {json_out}")
    return 1 if missing else 0
