"""`suqiu bench --preload N`: a store that already holds years of work orders, and the
store-side counters the benchmark reads from the services.

Preload
    N historical work orders received over the two years before yesterday (uniformly), as
    intake would have stored them, plus what each left behind where the pipeline keeps it:
    the raw payload (`intake_payloads`), the classifier's signature (`duplicate_signatures`)
    and the receipt's delivery-log entry (`notifications`). Orders are cloned from the sample
    complaints run through intake's own domain code (normaliser, work order, person key),
    so documents and index keys have the real shape and size. Callers repeat: the orders
    come from N/3 people (most of them with several orders over the two years), and the
    first people are the bench phases' own callers, so their person-key ranges are not empty.
    About 85 % are closed, the rest open in one of the lifecycle states. Everything is written
    with insert_many in batches of 1,000 straight into the store (the services are idle)
    before any measurement.

Counters
    Every service process exports `suqiu_store_commands_total` (PyMongo command monitoring,
    shared/store_monitor.py; a batched write is one command) and
    `suqiu_consumer_messages_total{outcome="retried"}`. The bench scrapes every process
    before a phase and after its queues drained: store commands per ticket = the difference
    over all processes / tickets published in the phase. It includes everything the phase
    caused (intake to dispatched, SLA timers, the receipt) and whatever the services'
    background loops (SLA scan, notifier release) did meanwhile.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from suqiu.shared.keys import at_key
from suqiu.shared.store import Store
from suqiu.stack import StackInfo

__all__ = ["PreloadResult", "counters", "preload"]

BATCH = 1000
OPEN_STATES = ("dispatched", "signed", "in_progress", "suspended", "replied")
_CLOSED_SHARE = 0.85


@dataclass
class PreloadResult:
    count: int
    seconds: float
    docs_per_s: float
    people: int
    closed: int


def _templates(now: datetime) -> list[tuple[dict[str, Any], str]]:
    """(work order document, raw payload) per sample, built by intake's own domain code."""
    import json

    from suqiu.samples import SAMPLES, build_envelope
    from suqiu.services.intake.domain import new_work_order, normalise, person_key
    from suqiu.services.intake.errors import parse_intake_message
    from suqiu.services.intake.settings import IntakeSettings

    secret = IntakeSettings().person_key_secret
    out = []
    for i, sample in enumerate(SAMPLES):
        env = build_envelope(sample, seq=i + 1, run_id="preload0", now=now)
        body = json.dumps(env, ensure_ascii=False).encode()
        sub = normalise(parse_intake_message(env))
        order = new_work_order(sub, f"SQ-{now:%Y%m%d}-{i + 1:06d}", body, now,
                               person_key=person_key(sub, secret), promised_by=now)
        out.append((order.model_copy(update={"raw_payload": None}).to_document(),
                    body.decode()))
    return out


def _people(n: int) -> list[str]:
    """Person keys: the bench phases' own callers first (repeat callers), then others."""
    from suqiu.samples import SAMPLES, build_envelope
    from suqiu.services.intake.domain import normalise, person_key
    from suqiu.services.intake.errors import parse_intake_message
    from suqiu.services.intake.settings import IntakeSettings

    secret = IntakeSettings().person_key_secret
    now = datetime.now(UTC)
    keys: list[str] = []
    for seq in range(1, min(n, 300 * len(SAMPLES)) + 1, 7):
        env = build_envelope(SAMPLES[(seq - 1) % len(SAMPLES)], seq=seq, run_id="p", now=now)
        key = person_key(normalise(parse_intake_message(env)), secret)
        if key:
            keys.append(key)
    rng = random.Random(7)
    while len(keys) < n:
        keys.append(f"{rng.getrandbits(128):032x}")
    return keys[:n]


def _batch(start: int, count: int, now: datetime, templates: list[tuple[dict[str, Any], str]],
           people: list[str], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {
        "tickets": [], "intake_payloads": [], "duplicate_signatures": [], "notifications": []}
    span = timedelta(days=730).total_seconds()
    for i in range(start, start + count):
        doc, raw = templates[i % len(templates)]
        received = now - timedelta(days=1, seconds=rng.random() * span)
        ticket_no = f"SQ-{received:%Y%m%d}-{900000 + i % 100000:06d}{i // 100000 or ''}"
        closed = rng.random() < _CLOSED_SHARE
        status = "closed" if closed else rng.choice(OPEN_STATES)
        person = people[rng.randrange(len(people))]
        intake_key = f"preload:{i}"
        t = dict(doc)
        t.update(_id=ticket_no, intake_key=intake_key, channel_message_id=str(i),
                 received_at=received, created_at=received, updated_at=received,
                 status=status, person_key=person, person_at=at_key(person, received),
                 received_key=at_key("at", received),
                 promised_by=received + timedelta(hours=24), version=4 if closed else 3,
                 history=[dict(h, at=received) for h in doc["history"]])
        out["tickets"].append(t)
        out["intake_payloads"].append({"_id": intake_key, "ticket_no": ticket_no,
                                       "channel": doc["channel"], "received_at": received,
                                       "raw_payload": raw})
        region = f"浙江省|杭州市|{['西湖区', '上城区', '拱墅区', '滨江区'][i % 4]}"
        out["duplicate_signatures"].append({
            "_id": ticket_no, "region_key": region, "at": received, "household": person[:12],
            "cluster_id": ticket_no, "sig": [rng.getrandbits(31) for _ in range(16)],
            "region_at": at_key(region, received), "cluster_at": at_key(ticket_no, received)})
        out["notifications"].append({
            "_id": f"{ticket_no}:received:sms:citizen", "ticket_no": ticket_no,
            "event_id": f"{ticket_no}:received", "event_type": "ticket.received",
            "channel": "sms", "audience": "citizen", "department": None,
            "recipient_masked": "138****0000", "title": None, "text": "您的诉求已受理",
            "state": "delivered", "hold_reason": None, "due_at": None, "due_key": None,
            "attempts": 1, "retryable": False, "provider_id": f"p-{i}", "detail": None,
            "event": {}, "created_at": received, "updated_at": received, "sent_at": received,
            "delivered_at": received, "history": []})
    return out


async def preload(mongo_url: str, database: str, n: int, *, progress: Any = None) -> PreloadResult:
    """Insert `n` historical orders (and what they left behind) with insert_many batches."""
    now = datetime.now(UTC)
    templates = _templates(now)
    people = _people(max(1, n // 3))
    rng = random.Random(2026)
    store = Store(mongo_url, database, max_in_flight=4)
    await store.ensure_indexes()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = client[database]
    closed = 0
    t0 = time.perf_counter()
    try:
        for start in range(0, n, BATCH):
            docs = _batch(start, min(BATCH, n - start), now, templates, people, rng)
            closed += sum(d["status"] == "closed" for d in docs["tickets"])
            await asyncio.gather(*(db[c].insert_many(v, ordered=False)
                                   for c, v in docs.items()))
            if progress is not None and (start // BATCH) % 20 == 19:
                progress(start + BATCH, n, time.perf_counter() - t0)
    finally:
        await client.close()
        await store.close()
    seconds = time.perf_counter() - t0
    return PreloadResult(n, seconds, 4 * n / seconds if seconds else 0.0, len(people), closed)


def counters(info: StackInfo) -> dict[str, float]:
    """Store commands (per service and total) and handler retries over every process."""
    out: dict[str, float] = {"store_commands": 0.0, "retries": 0.0}
    for p in info.processes:
        if p.port is None or "#" not in p.name:
            continue
        service = p.name.split("#", 1)[0]
        try:
            text = httpx.get(f"http://127.0.0.1:{p.port}/metrics", timeout=10).text
        except httpx.HTTPError:
            continue
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                if s.name == "suqiu_store_commands_total":
                    out["store_commands"] += s.value
                    out[f"store_commands.{service}"] = out.get(
                        f"store_commands.{service}", 0.0) + s.value
                elif s.name == "suqiu_consumer_messages_total" and \
                        s.labels.get("outcome") == "retried":
                    out["retries"] += s.value
    return out
