"""One deadline truth, end to end: an order is dispatched, suspended, extended and reassigned
through the dispatcher's HTTP API with the five services running as processes; the stored
deadline, the dispatched event, the department's notice, the department list, the order view,
Open311 `expected_datetime`, the citizen's status lookup, the monitor's timer and the breach
that fires all show the same resolution deadline.

The policy file is the shipped one with a resolution limit of 18 s, so the extension (which
must be later than the running deadline) and its breach happen within the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import httpx
import pytest
import yaml

from suqiu.samples import SAMPLES
from suqiu.shared.catalogue import load_catalogue
from suqiu.stack import StackInfo
from tests.e2e.helpers import eventually, file_hotline_complaint, mongo, running_stack

pytestmark = pytest.mark.e2e

DEPARTMENTS = [d.id for d in load_catalogue().departments]
TOKENS: dict[str, dict[str, Any]] = {f"tok-{d}-0123456789": {"department": d}
                                     for d in DEPARTMENTS}
SUPERVISOR = "tok-supervisor-0123456789"
TOKENS[SUPERVISOR] = {"department": "city_gov", "role": "supervisor", "unmask": True}
TZ = ZoneInfo("Asia/Shanghai")


def _policy(tmp: Path) -> Path:
    data = yaml.safe_load(Path("deploy/config/sla.yaml").read_text(encoding="utf-8"))
    data["profiles"] = {"government_hotline": [{"name": "fast", "steps": {
        "sign_for": {"hours": 1}, "first_response": {"hours": 24},
        "resolution": {"hours": 0.005}}}]}
    path = tmp / "sla.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[StackInfo]:
    policy = _policy(tmp_path_factory.mktemp("policy"))
    with running_stack(tmp_path_factory.mktemp("stack"), amqp_url, mongo_url, "s", extra_env={
            "SUQIU_DISPATCHER_CREDENTIALS": json.dumps(TOKENS),
            "SUQIU_SLA_POLICY_PATH": str(policy),
            "SUQIU_NOTIFIER_QUIET_START": "00:00", "SUQIU_NOTIFIER_QUIET_END": "00:00"}) as info:
        yield info


class Desk:
    def __init__(self, stack: StackInfo, ticket_no: str) -> None:
        self.stack = stack
        self.ticket_no = ticket_no
        self.base = f"http://127.0.0.1:{stack.ports('dispatcher')[0]}/dispatcher/v1"
        self.intake = f"http://127.0.0.1:{stack.ports('intake')[0]}"

    async def find(self, coll: str, flt: dict[str, Any]) -> list[dict[str, Any]]:
        client = mongo(self.stack.mongo_url)
        try:
            return await client[self.stack.mongo_db][coll].find(flt).to_list(None)
        finally:
            await client.close()

    async def doc(self) -> dict[str, Any]:
        [doc] = await self.find("tickets", {"_id": self.ticket_no})
        return doc

    async def act(self, token: str, **body: Any) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(f"{self.base}/tickets/{self.ticket_no}/commands", json=body,
                                  headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text

    async def get(self, url: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    async def status_lookup(self, phone: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(f"{self.intake}/intake/v1/status",
                                  json={"ticket_no": self.ticket_no, "phone_last4": phone[-4:]})
        assert r.status_code == 200, r.text
        return dict(r.json())


def _due(doc: dict[str, Any], step: str = "resolution") -> datetime | None:
    return ((doc.get("sla") or {}).get("steps", {}).get(step) or {}).get("due_at")


def _at(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


async def test_every_place_shows_the_deadline_the_monitor_enforces(stack: StackInfo) -> None:
    conn = await aio_pika.connect(stack.amqp_url)
    channel = await conn.channel()
    watch = await channel.declare_queue(exclusive=True)
    for key in ("ticket.dispatched", "sla.breached"):
        await watch.bind(f"{stack.namespace}.events", routing_key=key)
    desk = Desk(stack, await file_hotline_complaint(stack, 77 * len(SAMPLES) + 3, timeout=90))
    doc = await eventually(desk.doc, lambda d: d["status"] == "dispatched", timeout=60)
    lead = doc["lifecycle"]["lead"]
    token = f"tok-{lead}-0123456789"

    await desk.act(token, action="sign")
    await desk.act(token, action="suspend", reason="等待市民补充材料")
    doc = await desk.doc()
    assert doc["sla"]["suspended"] and _due(doc) is None   # paused: no deadline shown
    await desk.act(token, action="resume")
    doc = await desk.doc()
    running = _due(doc)
    assert running is not None
    new_due = (max(running, datetime.now(UTC)) + timedelta(seconds=25)).replace(microsecond=0)
    await desk.act(token, action="request_extension", new_due=new_due.isoformat(),
                   reason="需要现场勘查")
    await desk.act(SUPERVISOR, action="approve_extension")
    other = next(d for d in DEPARTMENTS if d not in {lead, "hotline_triage", "city_gov"})
    await desk.act(SUPERVISOR, action="reassign", target=other, reason="职责调整")

    doc = await desk.doc()
    stored = _due(doc)
    assert stored == new_due and doc["lifecycle"]["lead"] == other
    assert doc["sla"]["policy_version"].startswith("sla-")

    # the dispatched event of the reassignment
    dispatched = []
    while (msg := await watch.get(no_ack=True, fail=False)) is not None:
        body = json.loads(msg.body)
        if body["type"] == "ticket.dispatched":
            dispatched.append(body)
    assert _at(dispatched[-1]["resolution_due"]) == stored
    # the department's list and the order view
    inbox = await desk.get(f"{desk.base}/inbox", f"tok-{other}-0123456789")
    [row] = [o for o in inbox["orders"] if o["ticket_no"] == desk.ticket_no]
    assert _at(row["resolution_due"]) == stored
    view = await desk.get(f"{desk.base}/tickets/{desk.ticket_no}", SUPERVISOR)
    assert _at(view["resolution_due"]) == stored
    # Open311 and the citizen's status lookup
    [req] = await desk.get(f"{desk.intake}/open311/v2/requests/{desk.ticket_no}.json")
    assert _at(req["expected_datetime"]) == stored
    phone = doc["complainant"]["phone"]
    assert _at((await desk.status_lookup(phone))["expected_datetime"]) == stored
    # the new department's notice names the same deadline
    local = stored.astimezone(TZ).strftime("%Y-%m-%d %H:%M")

    async def notice() -> list[dict[str, Any]]:
        return [n for n in await desk.find("notifications", {"ticket_no": desk.ticket_no})
                if n["event_type"] == "ticket.dispatched" and n.get("department") == other]
    notes = await eventually(notice, bool, timeout=30)
    assert notes and all(f"{local}前办结" in n["text"] for n in notes if n["text"])
    # the monitor's timer holds it, and the breach that fires carries it
    timer = await eventually(lambda: desk.find("sla_timers", {"_id": f"{desk.ticket_no}:resolution"}),
                             lambda t: bool(t) and t[0]["due_at"] == stored, timeout=30)
    assert timer and timer[0]["due_at"] == stored

    async def breaches() -> list[dict[str, Any]]:
        out = []
        while (msg := await watch.get(no_ack=True, fail=False)) is not None:
            body = json.loads(msg.body)
            if body["type"] == "sla.breached" and body["step"] == "resolution":
                out.append(body)
        seen.extend(out)
        return [b for b in seen if _at(b["due_at"]) == stored]
    seen: list[dict[str, Any]] = []
    fired = await eventually(breaches, bool, timeout=90, poll=0.5)
    assert [_at(b["due_at"]) for b in fired] == [stored]
    # written into the order's history, once
    doc = await desk.doc()
    assert [h["note"] for h in doc["history"] if h["action"] == "sla_breach"
            and h["note"].startswith(f"{desk.ticket_no}:resolution:breach:")][-1] \
        == fired[0]["event_id"]
    await conn.close()
