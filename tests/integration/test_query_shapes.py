"""Every query the services, their HTTP APIs and their metric collectors issue is served from
an index: by `_id`, by equality on one indexed field, or by a range on one indexed field with
sort and limit (docs/benchmark.md, DESIGN.md: Store rules).

The shapes are not a hand-kept list: every service's store records the shapes it really
issues (PyMongo command monitoring, shared/store_monitor.py) into the session's shapes file
(tests/conftest.py). This module first drives a whole stack through the paths that read the
store (complaints of every sample, a repeat caller, a redelivery, the Open311 and status
APIs, the dispatcher's API and a command, the notifier's delivery log, every /metrics), then
checks every shape recorded so far in the session, by whichever test, with `explain` on the
store: a find must be an index search (nx-27017: `SEARCH ... USING INDEX`; MongoDB: IXSCAN,
no COLLSCAN), a write must address its document by `_id` (nx-27017 scans for any other
filter), and no count, distinct or aggregation may run at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from suqiu.channel_client import ChannelPublisher, wait_for_tickets
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.store_monitor import SHAPES_ENV, read_shapes
from suqiu.stack import StackInfo
from tests.e2e.helpers import mongo, running_stack

pytestmark = pytest.mark.e2e

DEPARTMENTS = [d.id for d in load_catalogue().departments]
TOKENS: dict[str, dict[str, Any]] = {f"tok-{d}-0123456789": {"department": d}
                                     for d in DEPARTMENTS}
OPERATOR = "tok-operator-0123456789"
TOKENS[OPERATOR] = {"department": "hotline_centre", "role": "operator"}
_SEARCH = re.compile(r"USING (INTEGER )?(PRIMARY KEY|INDEX|COVERING INDEX)|IXSCAN|IDHACK|EXPRESS")
_SCAN = re.compile(r"^SCAN (?!json_each)|COLLSCAN")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[StackInfo]:
    with running_stack(tmp_path_factory.mktemp("stack"), amqp_url, mongo_url, "q", extra_env={
            "SUQIU_DISPATCHER_CREDENTIALS": json.dumps(TOKENS),
            "SUQIU_NOTIFIER_QUIET_START": "00:00", "SUQIU_NOTIFIER_QUIET_END": "00:00"}) as info:
        yield info


def _port(stack: StackInfo, service: str) -> int:
    return stack.ports(service)[0]


async def _drive(stack: StackInfo) -> None:
    """The paths that read the store, once each (and a few twice, as they happen live)."""
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    envs = [build_envelope(s, seq=900 * len(SAMPLES) + i + 1, run_id=run, now=now)
            for i, s in enumerate(SAMPLES)]
    repeat = dict(envs[0], channel_message_id=envs[0]["channel_message_id"] + "-again")
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        for env in envs:
            await pub.publish(env)
        await pub.publish(envs[1])  # a channel's retry of the same message
        await pub.publish(repeat)   # the same person again: a repeat submission
    keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envs]
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db, keys, timeout=120)
    assert len(found) == len(keys)
    ticket_no = found[keys[0]]["_id"]
    lead = found[keys[0]]["dispatch"]["department"]
    async with httpx.AsyncClient(timeout=20) as http:
        intake = f"http://127.0.0.1:{_port(stack, 'intake')}"
        start = (now - timedelta(days=1)).isoformat()
        r = await http.get(f"{intake}/open311/v2/requests.json",
                           params={"start_date": start, "end_date": datetime.now(UTC).isoformat()})
        assert r.status_code == 200, r.text
        await http.get(f"{intake}/open311/v2/requests/{ticket_no}.json")
        await http.get(f"{intake}/open311/v2/requests/SQ-20200101-000001.json")
        await http.post(f"{intake}/intake/v1/status",
                        json={"ticket_no": ticket_no, "phone_last4": "0000"})
        disp = f"http://127.0.0.1:{_port(stack, 'dispatcher')}/dispatcher/v1"
        lead_auth = {"Authorization": f"Bearer tok-{lead}-0123456789"}
        await http.get(f"{disp}/inbox", headers=lead_auth)
        await http.get(f"{disp}/inbox", params={"status": "dispatched"}, headers=lead_auth)
        await http.get(f"{disp}/triage", headers={"Authorization": f"Bearer {OPERATOR}"})
        await http.get(f"{disp}/tickets/{ticket_no}", headers=lead_auth)
        r = await http.post(f"{disp}/tickets/{ticket_no}/commands", json={"action": "sign"},
                            headers=lead_auth)
        assert r.status_code == 200, r.text
        notifier = f"http://127.0.0.1:{_port(stack, 'notifier')}"
        await http.get(f"{notifier}/notifier/tickets/{ticket_no}/notifications")
        await asyncio.sleep(0)
        for p in stack.processes:
            if p.port and "#" in p.name:
                assert (await http.get(f"http://127.0.0.1:{p.port}/metrics")).status_code == 200


def _datetime_range(example: dict[str, Any]) -> bool:
    """A range whose bounds are datetimes: nx-27017 names the index in `explain` but walks
    such a range slowly (4-6 s at 200,000 orders, measured), so ranges use string keys."""
    flt = example.get("filter") or example.get("query") or {}
    return any(isinstance(v, dict) and any(isinstance(b, datetime) for b in v.values())
               for k, v in flt.items() if not k.startswith("$"))


def _problem(shape: dict[str, Any], plan: list[str],
             example: dict[str, Any] | None = None) -> str | None:
    """Why a shape is not index-backed, or None."""
    op, flt = shape["op"], shape["filter"]
    if example is not None and op == "find" and _datetime_range(example):
        return "a range on a datetime field (slow on nx-27017): use a string key (shared/keys.py)"
    if op in ("aggregate", "count", "distinct"):
        return f"{op} on a service path (maintain a counter or walk an index with a limit)"
    if not isinstance(flt, dict):
        return "unreadable filter"
    if op in ("findAndModify", "update", "delete"):
        return None if flt.get("_id") in ("eq", "in") else \
            "a write not addressed by _id (nx-27017 scans; look the _id up first)"
    if flt.get("_id") in ("eq", "in"):
        return None
    fields = list(flt)
    if len(fields) != 1 or fields[0].startswith("$"):
        return f"a lookup on {fields or 'nothing'}: use one precomputed key field"
    if not shape["limit"]:
        return "an unbounded find (give it a limit)"
    if flt[fields[0]] == "range" and shape["sort"] and shape["sort"][0][0] != fields[0]:
        return "a range sorted on another field"
    if not any(_SEARCH.search(p) for p in plan) or any(_SCAN.search(p) for p in plan):
        return f"the store plans {plan}"
    return None


def _plan_lines(explained: dict[str, Any]) -> list[str]:
    planner = explained.get("queryPlanner", explained)
    win = planner.get("winningPlan", {})
    if isinstance(win, list):  # nx-27017: SQLite's EXPLAIN QUERY PLAN rows
        return [str(row.get("detail", row)) for row in win]
    return [json.dumps(win, default=str)]  # MongoDB: a stage tree


async def _explain(stack: StackInfo, rec: dict[str, Any]) -> list[str]:
    example = rec["example"]
    if rec["shape"]["op"] != "find":
        return []
    client = mongo(stack.mongo_url)
    try:
        out = await client[stack.mongo_db].command("explain", example, verbosity="queryPlanner")
    finally:
        await client.close()
    return _plan_lines(out)


async def test_every_query_shape_the_services_issue_is_index_backed(stack: StackInfo) -> None:
    path = os.environ[SHAPES_ENV]
    await _drive(stack)
    shapes = read_shapes(path)
    seen = {rec["shape"]["coll"] for rec in shapes.values()}
    # The drive above reached the stores of every kind of work: or the recorder is broken.
    assert {"tickets", "notifications", "duplicate_signatures", "counters"} <= seen, seen
    problems = []
    for rec in shapes.values():
        plan = await _explain(stack, rec)
        why = _problem(rec["shape"], plan, rec["example"])
        if why:
            problems.append(f"{rec.get('service')}: {json.dumps(rec['shape'])}: {why}")
    assert not problems, "\n".join(sorted(problems))


def test_the_shape_rules_catch_scans() -> None:
    def find(flt: Any, *, sort: list[list[Any]] | None = None, limit: bool = True) -> dict:
        return {"op": "find", "coll": "t", "filter": flt, "sort": sort or [], "limit": limit}

    ok = ["SEARCH t USING INDEX idx_t_k (<expr>>? AND <expr><?)"]
    assert _problem(find({"_id": "eq"}), ["SEARCH t USING INDEX idx_t_id (_id=?)"]) is None
    assert _problem(find({"_id": "range"}, sort=[["_id", -1]]),
                    ["SEARCH t USING INDEX idx_t_id (_id>? AND _id<?)"]) is None
    assert _problem(find({"k": "range"}, sort=[["k", -1]]), ok) is None
    assert _problem(find({"b": "eq", "c": "range"}), ["SCAN t"])  # compound
    assert _problem(find({"k": "eq"}, limit=False), ok)  # unbounded
    assert _problem(find({"k": "range"}, sort=[["at", 1]]), ok)  # sorted on another field
    assert _problem(find({"z": "eq"}), ["SCAN t", "SCAN json_each VIRTUAL TABLE INDEX 1:"])
    assert _problem(find({}, sort=[["k", 1]]), ["SCAN t"])
    assert _problem({"op": "aggregate", "coll": "t", "filter": ["$match"], "sort": [],
                     "limit": False}, [])
    assert _problem({"op": "update", "coll": "t", "filter": {"state": "eq"}, "sort": [],
                     "limit": True}, [])
    assert _problem({"op": "findAndModify", "coll": "t", "filter": {"_id": "eq", "v": "eq"},
                     "sort": [], "limit": True}, []) is None
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert _problem(find({"at": "range"}, sort=[["at", 1]]), ok,
                    {"find": "t", "filter": {"at": {"$gte": at}}})
    assert _problem(find({"k": "range"}, sort=[["k", 1]]), ok,
                    {"find": "t", "filter": {"k": {"$gte": "a|2026"}}}) is None


def test_the_recorder_sees_what_a_service_store_sends(tmp_path: Path, mongo_url: str) -> None:
    from suqiu.shared.store import Store

    shapes = tmp_path / "shapes.jsonl"

    async def run() -> None:
        store = Store(mongo_url, "shapes_" + uuid.uuid4().hex[:8], service="test")
        store.monitor._shapes_file = str(shapes)  # the env var is session-wide
        try:
            await store.find("tickets", {"person_at": {"$gte": "a|0", "$lte": "a|9"}},
                             sort=[("person_at", -1)], limit=5)
            await store.find_one("tickets", {"_id": "x"})
            await store.find_one("tickets", {"_id": "y"})  # the same shape: recorded once
        finally:
            await store.db.client.drop_database(store.db.name)
            await store.close()

    asyncio.run(run())
    recorded = [r["shape"] for r in read_shapes(str(shapes)).values()]
    assert {"op": "find", "coll": "tickets", "filter": {"person_at": "range"},
            "sort": [["person_at", -1]], "limit": True} in recorded
    assert sum(1 for r in recorded if r["filter"] == {"_id": "eq"}) == 1
