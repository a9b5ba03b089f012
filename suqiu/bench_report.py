"""`suqiu bench-report`: load realistic synthetic orders, build their aggregates, time the report.

Orders follow the catalogue (categories with skewed volumes, their departments, districts and
streets, channels, severities) and carry a full audit trail: received, classified, dispatched,
signed (mostly on time), replied, revisited (mostly satisfied), with some returns, transfers,
extensions, reopenings and invalid orders. A burst (the least frequent category in one street)
is injected in the last week of the month so the report has a hotspot to show.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from suqiu.services.analytics.app import hotspot_policy, limits_of
from suqiu.services.analytics.domain.facts import order_facts
from suqiu.services.analytics.domain.keys import increments
from suqiu.services.analytics.domain.report import period_for
from suqiu.services.analytics.handlers import hotspot_doc
from suqiu.services.analytics.hotspot_job import find_hotspots, hotspot_event
from suqiu.services.analytics.render import write_report
from suqiu.services.analytics.reporting import make_report
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.services.analytics.settings import AnalyticsSettings
from suqiu.shared.catalogue import Catalogue, load_catalogue
from suqiu.shared.contracts import Channel, Severity, TicketStatus, WorkOrder
from suqiu.shared.store import Store

__all__ = ["generate_orders", "run_bench_report"]

CHANNELS = [("hotline", 55), ("wechat", 15), ("web", 10), ("app", 8), ("sms", 4), ("email", 2),
            ("letter", 1), ("walk_in", 2), ("transfer", 3)]
SEVERITY = [("general", 80), ("important", 14), ("major", 5), ("urgent", 1)]
# How long the synthetic departments typically take to sign and to answer, per severity (hours):
# a spread around these makes some orders late. Not deadlines: those come from suqiu.shared.sla.
_TYPICAL_HOURS = {"general": (4.0, 168.0), "important": (2.0, 72.0), "major": (1.0, 48.0),
                  "urgent": (0.5, 24.0)}


def _h(at: datetime, actor: str, action: str, frm: str | None, to: str,
       note: str | None = None) -> dict[str, Any]:
    return {"at": at, "actor": actor, "action": action, "from_status": frm, "to_status": to,
            "note": note, "role": None, "reason": None}


def _order(rng: random.Random, no: str, at: datetime, cat: Catalogue, cats: list[Any],
           weights: list[float], forced: tuple[Any, str, str] | None = None) -> dict[str, Any]:
    category, district, street = forced or (None, None, None)
    if category is None:
        category = rng.choices(cats, weights)[0]
        d = rng.choice(cat.districts)
        district, street = d.name, (rng.choice(d.streets) if d.streets else None)
    sub = rng.choice(category.subcategories)
    dept = sub.department or category.department
    sev = rng.choices([s for s, _ in SEVERITY], [w for _, w in SEVERITY])[0]
    channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    sign_h, res_h = _TYPICAL_HOURS[sev]
    invalid = rng.random() < 0.06
    hist = [_h(at, "intake", "receive", None, "invalid" if invalid else "received")]
    doc: dict[str, Any] = {
        "_id": no, "schema_version": 1, "version": 1, "status": "invalid" if invalid else "received",
        "channel": channel, "channel_message_id": no, "intake_key": f"{channel}:{no}",
        "received_at": at, "created_at": at, "updated_at": at,
        "complainant": {"name": "测试", "phone": "13800000000", "email": None, "anonymous": False,
                        "contact_preference": None, "consent_to_contact": None, "external_id": None},
        "content": {"text": f"{sub.name}问题", "title": None, "demand": None},
        "analysis_text": f"{sub.name}问题", "location": {"address": None, "lat": None, "lon": None},
        "attachments": [], "channel_details": {}, "raw_payload": "{}", "classification": None,
        "dispatch": None, "sla": None, "history": hist, "validity": None, "unknown_fields": [],
        "person_key": None, "promised_by": None, "lifecycle": None}
    if invalid:
        return doc
    t = at + timedelta(seconds=rng.randint(2, 60))
    doc["classification"] = {
        "category": category.name, "subcategory": sub.name, "department": dept,
        "region": {"province": cat.province, "city": cat.city, "district": district, "street": street,
                   "community": None, "matched": street},
        "severity": sev, "severity_reasons": [], "confidence": 0.9, "matched_keywords": [],
        "classified_at": t}
    hist.append(_h(t, "classifier", "classify", "received", "classified"))
    t += timedelta(seconds=rng.randint(1, 30))
    hist.append(_h(t, "dispatcher", "dispatch", "classified", "dispatched", f"-> {dept}"))
    status, lead = "dispatched", dept
    r = rng.random()
    if r < 0.04:  # returned, re-dispatched to another department
        t += timedelta(hours=rng.uniform(0.2, 3))
        hist.append(_h(t, lead, "return", "dispatched", "triage", lead))
        lead = rng.choice(cat.departments[3:]).id
        hist.append(_h(t, "dispatcher", "redispatch", "triage", "dispatched", f"-> {lead}"))
    elif r < 0.07:
        t += timedelta(hours=rng.uniform(0.2, 3))
        lead2 = rng.choice(cat.departments[3:]).id
        hist.append(_h(t, lead, "transfer", "dispatched", "dispatched", f"-> {lead2}"))
        lead = lead2
    dispatched_at = t
    t += timedelta(hours=sign_h * rng.choice([0.2, 0.4, 0.6, 0.8, 0.9, 1.3]))
    hist.append(_h(t, lead, "sign", "dispatched", "signed", lead))
    status = "signed"
    res_due = dispatched_at + timedelta(hours=res_h)
    if rng.random() < 0.05:
        res_due += timedelta(days=5)
        hist.append(_h(t + timedelta(hours=1), lead, "request_extension", "signed", "extension_requested"))
        hist.append(_h(t + timedelta(hours=2), "supervisor", "approve_extension", "extension_requested",
                       "in_progress", res_due.isoformat()))
    t = dispatched_at + timedelta(hours=res_h * rng.choice([0.2, 0.4, 0.5, 0.7, 0.9, 0.95, 1.1]))
    hist.append(_h(t, lead, "reply", "signed", "replied"))
    status = "replied"
    if rng.random() < 0.85:
        t += timedelta(days=rng.uniform(0.5, 3))
        sat = rng.choices(["非常满意", "满意", "基本满意", "不满意"], [30, 45, 15, 10])[0]
        if sat == "不满意":
            hist.append(_h(t, "operator", "reopen", "replied", "dispatched", f"round 1, {sat}"))
            status = "dispatched"
        else:
            hist.append(_h(t, "operator", "revisit", "replied", "closed", sat))
            status = "closed"
    doc.update(status=status, version=len(hist), updated_at=t,
               dispatch={"department": lead, "department_name": lead, "co_departments": [],
                         "dispatched_at": dispatched_at})
    return doc


def generate_orders(cat: Catalogue, month: str, n: int, seed: int, *,
                    burst: int = 0) -> list[dict[str, Any]]:
    """`n` orders received in `month` (YYYY-MM), plus `burst` in one street in its last week."""
    rng = random.Random(seed)
    cats = list(cat.categories)
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(cats))]
    p = period_for(month=month)
    start = datetime(p.start.year, p.start.month, p.start.day, tzinfo=UTC) - timedelta(hours=8)
    seconds = (p.end - p.start).days * 86400 + 86400
    out = []
    for i in range(n):
        at = start + timedelta(seconds=rng.uniform(0, seconds - 1))
        out.append(_order(rng, f"B{month.replace('-', '')}-{i:07d}", at, cat, cats, weights))
    d = cat.districts[0]
    for i in range(burst):
        at = start + timedelta(seconds=seconds - rng.uniform(3600, 6 * 86400))
        out.append(_order(rng, f"B{month.replace('-', '')}-H{i:05d}", at, cat, cats, weights,
                          forced=(cats[-1], d.name, d.streets[0])))
    return out


def _as_order(doc: dict[str, Any]) -> WorkOrder:
    """The generated document as the attributes `order_facts` reads, without validation: the
    documents are built valid, and validating 450,000 orders would dominate the run (the
    stored copies are validated whenever a service or the rebuild reads them)."""
    ns = SimpleNamespace
    c = doc["classification"]
    cls = None if c is None else ns(**(c | {"severity": Severity(c["severity"]),
                                            "region": ns(**c["region"])}))
    history = [ns(**(h | {"to_status": TicketStatus(h["to_status"])})) for h in doc["history"]]
    order = ns(ticket_no=doc["_id"], channel=Channel(doc["channel"]), classification=cls,
               history=history)
    return order  # type: ignore[return-value]


async def _load(store: Store, docs: list[dict[str, Any]]) -> None:
    for i in range(0, len(docs), 1000):
        await store.tickets.insert_many(docs[i:i + 1000], ordered=False)


async def _bench(mongo_url: str, db: str, month: str, n: int, out: Path,
                 tick: Any = None) -> dict[str, Any]:
    tick = tick or (lambda line: print(line, file=sys.stderr, flush=True))
    cat = load_catalogue()
    settings = AnalyticsSettings()
    limits, policy = limits_of(cat, settings.timezone), hotspot_policy(settings)
    store = Store(mongo_url, db)
    repo = AnalyticsRepository(store)
    figures: dict[str, Any] = {"orders": 0}
    try:
        await store.ensure_indexes()
        await repo.ensure_indexes()
        p = period_for(month=month)
        # The month's orders go into the store; the comparison periods only as aggregates.
        for per, count, burst, keep in ((p.previous(), n, 0, False), (p.last_year(), n // 4, 0, False),
                                        (p, n, 40, True)):
            label = f"{per.start:%Y-%m}"
            t0 = time.perf_counter()
            docs = generate_orders(cat, label, count, seed=int(label.replace("-", "")), burst=burst)
            if keep:
                await _load(store, docs)
                figures["orders"] += len(docs)
                tick(f"stored {len(docs)} orders of {label} in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            days = {d.isoformat() for d in per.days}
            facts = [f for d in docs for f in order_facts(_as_order(d), limits) if f.day in days]
            # Comparison months need only the monthly and hotspot rollups the report and the
            # detection read; the month itself gets every rollup.
            aggregates = [{"_id": k, "p": inc.partition, **inc.dims, **inc.counters,
                           **({"sample_lo": min(inc.samples), "sample_hi": max(inc.samples)}
                              if inc.samples else {})}
                          for k, inc in increments(facts).items() if keep or k[0] != "d"]
            await repo.replace_partitions([], aggregates)  # a fresh store: nothing to drop
            tick(f"aggregated {label}: {len(aggregates)} documents in {time.perf_counter() - t0:.1f} s")
        # What the running service does every few minutes: detect, announce, keep.
        for h in await find_hotspots(repo, p.end, policy):
            await repo.record_hotspot(hotspot_doc(hotspot_event(h, datetime.now(UTC))))
        t0 = time.perf_counter()
        report = await make_report(repo, p, {},
                                   department_names={d.id: d.name for d in cat.departments})
        figures["report_read_s"] = round(time.perf_counter() - t0, 2)
        for fmt in ("html", "xlsx", "csv"):
            write_report(report, fmt, out / f"report-{month}.{fmt}")
        figures["report_total_s"] = round(time.perf_counter() - t0, 2)
        figures["hotspots"] = len(report.hotspots.rows)
    finally:
        await store.close()
    return figures


def run_bench_report(run_dir: Path, month: str, n: int, out: Path) -> int:
    """On MONGO_URL when set, else on a fresh nx-27017 under `run_dir`."""
    import os
    import shutil
    import subprocess

    from suqiu.shared.settings import CommonSettings
    from suqiu.stack import free_port, mongo_server_argv, wait_tcp

    out.mkdir(parents=True, exist_ok=True)
    url, proc = os.environ.get("MONGO_URL"), None
    db = CommonSettings().mongo_db if url else "bench_report"
    if not url:
        shutil.rmtree(run_dir, ignore_errors=True)
        port = free_port()
        proc = subprocess.Popen(mongo_server_argv(run_dir, port), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if not wait_tcp("127.0.0.1", port, 30):
            proc.kill()
            raise RuntimeError("nx-27017 did not start")
        url = f"mongodb://127.0.0.1:{port}/"
    try:
        figures = asyncio.run(_bench(url, db, month, n, out))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    figures |= {"month": month, "date": date.today().isoformat()}
    print(json.dumps(figures, ensure_ascii=False))
    return 0
