"""`suqiu bench-sla`: SLA timers at scale, fired exactly once by several monitor replicas.

A benchmark script, not a test. It prints its method and its figures.

Where it runs
    Against MONGO_URL when set, otherwise a fresh nx-27017 started under `.run/bench-sla`
    (its old data deleted first) and stopped at the end. Database `suqiu_bench_sla`, dropped
    first. No broker: each replica's publisher is replaced by a recorder (see below), so the
    figures are the store's and the claiming's, not RabbitMQ's.

Phase 1, load
    `--orders` open orders, each a dispatched work order (`tickets`) whose stored resolution
    deadline (shared.sla) is 2-30 days from now, and the monitor's one timer for that step
    (`sla_timers`), inserted with insert_many in batches of `--batch`, with the production
    indexes. load rate = documents / seconds.

Phase 2, steady stream of due timers
    `--replicas` monitor processes (multiprocessing, spawn) each run the production scanner
    (`SlaHandler.scan_forever`: the earliest due timers read in `fire_at` index order with a
    limit, tried in random order, conditional replace on `_id` under a lease, the order read
    to check its stored deadline, the breach written into its history, publish, the timer
    advanced to its next moment)
    every `--scan-interval` seconds with batches of `--claim-batch`. The driver inserts
    `--due` new due timers (each with its order) at `--rate` per second in
    ticks of 100 ms, each due `--lead` seconds after its insertion, among the million pending
    ones. The recorder publisher notes (event id, fired time) for every event a replica
    publishes, in a file per replica.

Figures
    lag = fired time - due time of every fired stream timer (fire_at == due_at for breaches);
    p50, p99, max over all fired. duplicates = stream timers published more than once over all
    replicas; missed = stream timers not published when every replica has been idle for 3 s
    after the last one was due (or after `--drain` seconds). Target: p99 < 2 s, 0, 0.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# How long the store may take to stop after SIGTERM before it is killed (its data is
# throw-away: the next run deletes it first).
STOP_GRACE_S = 30.0

__all__ = ["run_bench_sla"]

DB = "suqiu_bench_sla"


_TEMPLATE: dict[str, Any] = {}


def _centre() -> tuple[str, tuple[str, str]]:
    from suqiu.shared.catalogue import load_catalogue
    from suqiu.shared.sla import load_policies

    cat, leadership = load_catalogue(None), load_policies().escalation.leadership
    parent = {d.id: d.parent for d in cat.departments if d.parent}
    return cat.triage_department, (parent.get(cat.triage_department, leadership), leadership)


_CENTRE = _centre()


def _docs(i: int, prefix: str, fire_at: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """An open order whose stored resolution deadline is `fire_at`, and its monitor timer."""
    from suqiu.services.sla_monitor.domain import StepTimer

    ticket = f"{prefix}-{i:08d}"
    intake = fire_at - timedelta(days=7)
    fire_at = fire_at.replace(microsecond=fire_at.microsecond // 1000 * 1000)
    if not _TEMPLATE:
        from suqiu.shared.contracts import WorkOrder

        _TEMPLATE.update(WorkOrder.model_validate({
            "ticket_no": "x", "status": "dispatched", "channel": "hotline",
            "channel_message_id": "x", "intake_key": "x", "received_at": intake,
            "created_at": intake, "updated_at": intake, "complainant": {},
            "content": {"text": "bench"}, "analysis_text": "bench", "location": {},
            "raw_payload": "{}"}).to_document())
    sla = {"policy_version": "bench", "rule": "major", "severity": "major", "suspended": False,
           "steps": {"resolution": {"started_at": intake, "due_at": fire_at, "warn_at": None}}}
    order = _TEMPLATE | {"_id": ticket, "intake_key": f"bench:{ticket}", "received_at": intake,
                         "created_at": intake, "updated_at": intake, "sla": sla}
    # what the monitor's planner derives from such an order (an undispatched order's steps
    # belong to the centre), so firing finds the timer current and announces at once
    timer = StepTimer(ticket_no=ticket, step="resolution", started_at=intake, due_at=fire_at,
                      warn_at=None, department=_CENTRE[0], severity="major",
                      intake_at=intake, fire_at=fire_at, escalate_to=_CENTRE[1]).to_doc()
    return order, timer


class _Recorder:
    """Stands in for EventPublisher: appends (event id, fired time) to a file."""

    def __init__(self, path: str) -> None:
        self._f = open(path, "a", encoding="utf-8")

    async def publish_event(self, event: Any) -> None:
        self._f.write(json.dumps([event.event_id, event.occurred_at.timestamp(),
                                  event.due_at.timestamp()]) + "\n")
        self._f.flush()


def _replica(mongo_url: str, out: str, interval: float, batch: int, lease: float) -> None:
    from prometheus_client import CollectorRegistry

    from suqiu.services.sla_monitor.handlers import SlaHandler
    from suqiu.services.sla_monitor.metrics import SlaMetrics
    from suqiu.services.sla_monitor.repository import SlaTimerRepository
    from suqiu.shared.catalogue import load_catalogue
    from suqiu.shared.sla import load_book
    from suqiu.shared.store import Store

    async def main() -> None:
        store = Store(mongo_url, DB)
        catalogue = load_catalogue(None)
        handler = SlaHandler(SlaTimerRepository(store), _Recorder(out),  # type: ignore[arg-type]
                             catalogue, SlaMetrics(CollectorRegistry()),
                             load_book(catalogue, None))
        await handler.scan_forever(interval, batch, lease, gauge_every_s=0, gauge_cap=1)

    asyncio.run(main())


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def _load(mongo_url: str, orders: int, batch: int) -> tuple[float, float]:
    from suqiu.shared.store import Store

    store = Store(mongo_url, DB)
    try:
        await store.db.client.drop_database(DB)
        await store.ensure_indexes()
        now = datetime.now(UTC)
        t0 = time.monotonic()
        done = 0
        while done < orders:
            n = min(batch, orders - done)
            pairs = [_docs(done + k, "SQ-LOAD", now + timedelta(
                days=2, seconds=random.randint(0, 28 * 86400))) for k in range(n)]
            await store.tickets.insert_many([c for c, _ in pairs], ordered=False)
            await store.collection("sla_timers").insert_many([t for _, t in pairs], ordered=False)
            done += n
            if done % (batch * 20) == 0 or done == orders:
                el = time.monotonic() - t0
                print(f"  loaded {done:>9,} orders in {el:7.1f} s ({2 * done / el:,.0f} docs/s)",
                      flush=True)
        return time.monotonic() - t0, 2 * orders / max(time.monotonic() - t0, 1e-9)
    finally:
        await store.close()


async def _stream(mongo_url: str, due: int, rate: float, lead: float) -> dict[str, float]:
    from suqiu.shared.store import Store

    store = Store(mongo_url, DB)
    try:
        per_tick = rate / 10
        sent, carry, i, tick = 0, 0.0, 0, 0
        t0 = time.monotonic()
        while sent < due:
            tick += 1
            carry += per_tick
            n = min(int(carry), due - sent)
            carry -= n
            if n:
                fire_at = datetime.now(UTC) + timedelta(seconds=lead)
                pairs = [_docs(i + k, "SQ-DUE", fire_at) for k in range(n)]
                await store.tickets.insert_many([c for c, _ in pairs])
                await store.collection("sla_timers").insert_many([t for _, t in pairs])
                i += n
                sent += n
            await asyncio.sleep(max(0.0, t0 + tick * 0.1 - time.monotonic()))
        return {"stream_s": time.monotonic() - t0}
    finally:
        await store.close()


def _read(out_dir: Path) -> list[list[Any]]:
    rows = []
    for f in out_dir.glob("replica-*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def run_bench_sla(run_dir: Path, *, orders: int, due: int, rate: float, replicas: int,
                  batch: int, scan_interval: float, claim_batch: int, lease: float,
                  lead: float, drain: float, json_out: Path | None = None) -> int:
    from suqiu.stack import free_port, mongo_server_argv, stop_process, wait_tcp

    print(__doc__)
    print(f"parameters: orders={orders:,} due={due:,} rate={rate}/s replicas={replicas} "
          f"batch={batch} scan_interval={scan_interval}s claim_batch={claim_batch} "
          f"lease={lease}s lead={lead}s")
    proc = None
    mongo_url = os.environ.get("MONGO_URL")
    if not mongo_url:
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        proc = subprocess.Popen(mongo_server_argv(run_dir, port), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if not wait_tcp("127.0.0.1", port, 30):
            print("nx-27017 did not start")
            stop_process(proc, grace=STOP_GRACE_S)
            return 1
        mongo_url = f"mongodb://127.0.0.1:{port}/"
    workers: list[Any] = []
    try:
        print("\nphase 1: load")
        load_s, load_rate = asyncio.run(_load(mongo_url, orders, batch))
        print(f"  {orders:,} open orders ({2 * orders:,} documents) in {load_s:.1f} s, "
              f"{load_rate:,.0f} documents/s")
        print(f"\nphase 2: {due:,} due timers at {rate}/s, {replicas} replicas")
        out_dir = Path(tempfile.mkdtemp(prefix="bench-sla-"))
        ctx = mp.get_context("spawn")
        for k in range(replicas):
            p = ctx.Process(target=_replica, args=(mongo_url, str(out_dir / f"replica-{k}.jsonl"),
                                                   scan_interval, claim_batch, lease),
                            daemon=True)
            p.start()
            workers.append(p)
        time.sleep(2.0)  # imports and connections
        stream = asyncio.run(_stream(mongo_url, due, rate, lead))
        deadline = time.monotonic() + lead + drain
        last_n, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = len([r for r in _read(out_dir) if r[0].startswith("SQ-DUE")])
            if n != last_n:
                last_n, last_change = n, time.monotonic()
            elif n >= due and time.monotonic() - last_change > 3:
                break
            time.sleep(0.5)
        rows = [r for r in _read(out_dir) if r[0].startswith("SQ-DUE")]
        counts: dict[str, int] = {}
        for r in rows:
            counts[r[0]] = counts.get(r[0], 0) + 1
        lags = [r[1] - r[2] for r in rows]
        dups = sum(1 for c in counts.values() if c > 1)
        missed = due - len(counts)
        early = sum(1 for x in lags if x < -0.001)  # stored dates keep milliseconds
        figures = {"orders": orders, "load_seconds": round(load_s, 1),
                   "load_docs_per_s": round(load_rate), "due": due, "rate": rate,
                   "replicas": replicas, "stream_seconds": round(stream["stream_s"], 1),
                   "fired": len(counts), "duplicates": dups, "missed": missed,
                   "fired_early": early,
                   "lag_p50_s": round(_pct(lags, 50), 3), "lag_p99_s": round(_pct(lags, 99), 3),
                   "lag_max_s": round(max(lags) if lags else float("nan"), 3)}
        print(f"  min lag {min(lags) if lags else 0:.4f} s")
        print(f"  fired {len(counts):,} of {due:,}: duplicates {dups}, missed {missed}, "
              f"early {early}")
        print(f"  firing lag (fired - due): p50 {figures['lag_p50_s']:.3f} s, "
              f"p99 {figures['lag_p99_s']:.3f} s, max {figures['lag_max_s']:.3f} s")
        ok = dups == 0 and missed == 0 and early == 0 and figures["lag_p99_s"] < 2.0
        print(f"  target (p99 < 2 s, 0 duplicates, 0 missed): {'met' if ok else 'NOT met'}")
        if json_out:
            json_out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        shutil.rmtree(out_dir, ignore_errors=True)
        return 0 if ok else 1
    finally:
        # Stop everything started here, whatever the store's shutdown time: SIGTERM, a
        # grace period, then SIGKILL (nx-27017 may take long to flush a large database).
        for p in workers:
            p.terminate()
        for p in workers:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
        if proc is not None:
            stop_process(proc, grace=STOP_GRACE_S)
