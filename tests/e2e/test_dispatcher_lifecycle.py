"""A work order's whole life over the real RabbitMQ and Mongo-protocol server, with the five
services as processes: dispatched, returned, re-dispatched, signed, extended, replied,
revisited unsatisfied, reopened, replied again and closed — commands through the dispatcher's
HTTP API (departments, supervisor) and as AMQP messages (the centre's revisit system)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest

from suqiu.samples import SAMPLES
from suqiu.shared.catalogue import load_catalogue
from suqiu.stack import StackInfo
from tests.e2e.helpers import eventually, file_hotline_complaint, mongo, running_stack

pytestmark = pytest.mark.e2e

DEPARTMENTS = [d.id for d in load_catalogue().departments]
TOKENS: dict[str, dict[str, Any]] = {f"tok-{d}-0123456789": {"department": d}
                                     for d in DEPARTMENTS}
SUPERVISOR = "tok-supervisor-0123456789"
OPERATOR = "tok-operator-0123456789"
TOKENS[SUPERVISOR] = {"department": "city_gov", "role": "supervisor", "unmask": True}
TOKENS[OPERATOR] = {"department": "hotline_centre", "role": "operator"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[StackInfo]:
    with running_stack(tmp_path_factory.mktemp("stack"), amqp_url, mongo_url, "d", extra_env={
            "SUQIU_DISPATCHER_CREDENTIALS": json.dumps(TOKENS),
            "SUQIU_NOTIFIER_QUIET_START": "00:00", "SUQIU_NOTIFIER_QUIET_END": "00:00"}) as info:
        yield info


class Desk:
    """The dispatcher's HTTP API and the store, as the test drives them."""

    def __init__(self, stack: StackInfo, ticket_no: str) -> None:
        self.base = f"http://127.0.0.1:{stack.ports('dispatcher')[0]}/dispatcher/v1"
        self.stack = stack
        self.ticket_no = ticket_no

    async def doc(self) -> dict[str, Any]:
        client = mongo(self.stack.mongo_url)
        try:
            doc = await client[self.stack.mongo_db]["tickets"].find_one({"_id": self.ticket_no})
        finally:
            await client.close()
        assert doc is not None
        return doc

    async def lead(self) -> str:
        return str((await self.doc())["lifecycle"]["lead"])

    async def act(self, token: str, **body: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(f"{self.base}/tickets/{self.ticket_no}/commands", json=body,
                                  headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def as_lead(self, **body: Any) -> dict[str, Any]:
        return await self.act(f"tok-{await self.lead()}-0123456789", **body)

    async def assisting_reply(self, summary: str) -> None:
        """协办: every assisting department signs and replies on its own."""
        for dept in (await self.doc())["lifecycle"]["co"]:
            await self.act(f"tok-{dept}-0123456789", action="sign")
            await self.act(f"tok-{dept}-0123456789", action="reply", summary=summary)

    async def wait_status(self, status: str) -> dict[str, Any]:
        doc = await eventually(self.doc, lambda d: d["status"] == status, timeout=30)
        assert doc["status"] == status
        return doc


async def _amqp_command(stack: StackInfo, body: dict[str, Any]) -> None:
    conn = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{stack.namespace}.intake")
        await exchange.publish(aio_pika.Message(
            json.dumps(body, ensure_ascii=False).encode(), message_id=body["command_id"],
            content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key="command.dispatcher")
    finally:
        await conn.close()


async def test_a_whole_life_with_return_extension_reopen_and_close(stack: StackInfo) -> None:
    conn = await aio_pika.connect(stack.amqp_url)
    channel = await conn.channel()
    watch = await channel.declare_queue(exclusive=True)
    await watch.bind(f"{stack.namespace}.events", routing_key="ticket.#")
    desk = Desk(stack, await file_hotline_complaint(stack, 41 * len(SAMPLES) + 1))
    first_lead = await desk.lead()

    # 退单: the lead returns it; it goes to the next candidate or waits in triage
    await desk.as_lead(action="return", reason="不属于本单位职责")
    doc = await desk.doc()
    if doc["status"] == "triage":
        other = next(d for d in DEPARTMENTS if d not in {first_lead, "hotline_triage"})
        await desk.act(OPERATOR, action="assign", target=other)
    doc = await desk.wait_status("dispatched")
    assert doc["lifecycle"]["lead"] != first_lead
    assert doc["lifecycle"]["labels"][0]["wrong"] == first_lead  # a training label

    await desk.as_lead(action="sign")
    due = datetime.fromisoformat(str((await desk.doc())["sla"]["steps"]["resolution"]["due_at"]))
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    await desk.as_lead(action="request_extension", reason="需现场检测",
                       new_due=(due + timedelta(days=3)).isoformat())
    await desk.act(SUPERVISOR, action="approve_extension")
    await desk.assisting_reply("已配合监测")
    await desk.as_lead(action="reply", summary="已到现场处理")
    await desk.wait_status("replied")

    # 回访 from the centre's system, over AMQP: not satisfied -> reopened and dispatched again
    await _amqp_command(stack, {"type": "dispatcher.command", "command_id": f"rv1-{desk.ticket_no}",
                                "ticket_no": desk.ticket_no, "action": "revisit",
                                "actor": "revisit_system", "role": "system",
                                "satisfaction": "不满意"})
    await desk.wait_status("dispatched")
    await desk.as_lead(action="sign")
    await desk.assisting_reply("已复测达标")
    await desk.as_lead(action="reply", summary="已彻底整改")
    await _amqp_command(stack, {"type": "dispatcher.command", "command_id": f"rv2-{desk.ticket_no}",
                                "ticket_no": desk.ticket_no, "action": "revisit",
                                "actor": "revisit_system", "role": "system",
                                "satisfaction": "满意"})
    doc = await desk.wait_status("closed")

    trail = [(h["action"], h.get("from_status"), h["to_status"]) for h in doc["history"]]
    actions = [a for a, _, _ in trail]
    assert actions[:3] == ["receive", "classify", "dispatch"]
    expected = ["return", "sign", "request_extension", "approve_extension", "reply", "reopen",
                "sign", "reply", "revisit"]
    it = iter(actions[3:])
    assert all(a in it for a in expected), actions  # in this order (plus redispatch / assign)
    assert trail[-1] == ("revisit", "replied", "closed")
    assert all(h.get("role") for h in doc["history"][3:])
    assert doc["lifecycle"]["satisfaction"] == "满意"
    assert doc["lifecycle"]["dissatisfied"] == 1 and doc["lifecycle"]["reopen_round"] == 1
    assert doc["version"] > 10

    seen: list[tuple[str, str]] = []

    async def drain() -> list[tuple[str, str]]:
        while (msg := await watch.get(no_ack=True, fail=False)) is not None:
            event = json.loads(msg.body)
            if event["ticket_no"] == desk.ticket_no:
                seen.append((event["type"], event["event_id"]))
        return seen

    await eventually(drain, lambda s: ("ticket.closed" in {t for t, _ in s}), timeout=20)
    await conn.close()
    dispatches = [eid for t, eid in seen if t == "ticket.dispatched"]
    assert len(dispatches) >= 3 and len(set(dispatches)) == len(dispatches)  # first, re-, reopen
    assert dispatches[0] == f"{desk.ticket_no}:dispatched"
    types = {t for t, _ in seen}
    assert {"ticket.returned", "ticket.signed", "ticket.extension_requested",
            "ticket.extension_approved", "ticket.replied", "ticket.revisit_requested",
            "ticket.reopened", "ticket.closed"} <= types


async def test_concurrent_http_commands_on_one_version_have_one_winner(stack: StackInfo) -> None:
    desk = Desk(stack, await file_hotline_complaint(stack, 42 * len(SAMPLES) + 1))
    version = (await desk.doc())["version"]
    url = f"{desk.base}/tickets/{desk.ticket_no}/commands"
    async with httpx.AsyncClient(timeout=10) as client:
        results = await asyncio.gather(
            client.post(url, json={"action": "sign"}, headers={
                "Authorization": f"Bearer tok-{await desk.lead()}-0123456789",
                "If-Match": f'"{version}"'}),
            client.post(url, json={"action": "urge", "reason": "请尽快签收"}, headers={
                "Authorization": f"Bearer {SUPERVISOR}", "If-Match": f'"{version}"'}))
    assert sorted(r.status_code for r in results) == [200, 409]
    assert next(r for r in results if r.status_code == 409).json()["error"]["code"] == \
        "version_conflict"
    assert (await desk.doc())["version"] == version + 1


async def test_recategorise_and_accept_become_labels_over_http_and_amqp(
        stack: StackInfo) -> None:
    """The learning loop's dispatcher side on the real stack: the triage desk re-categorises
    and re-dispatches over HTTP, the new lead signs over AMQP (delivered twice: one label
    entry), a supervisor re-categorises again over AMQP; `ticket.recategorised` is routed."""
    conn = await aio_pika.connect(stack.amqp_url)
    channel = await conn.channel()
    watch = await channel.declare_queue(exclusive=True)
    await watch.bind(f"{stack.namespace}.events", routing_key="ticket.recategorised")
    desk = Desk(stack, await file_hotline_complaint(stack, 43 * len(SAMPLES) + 1))
    await eventually(desk.doc, lambda d: d["status"] in {"dispatched", "triage"}, timeout=30)

    answer = await desk.act(OPERATOR, action="recategorise", category="劳动和社会保障",
                            subcategory=None, target="hrss_bureau", reason="实为欠薪",
                            command_id=f"rc1-{desk.ticket_no}")
    assert answer["status"] == "dispatched" and answer["outcome"] == "ok"
    doc = await desk.doc()
    assert doc["classification"]["category"] == "劳动和社会保障"
    assert doc["lifecycle"]["lead"] == "hrss_bureau"
    assert doc["history"][-1]["action"] == "recategorise"

    sign = {"type": "dispatcher.command", "command_id": f"sg-{desk.ticket_no}", "ticket_no": desk.ticket_no,
            "action": "sign", "actor": "hrss_bureau", "role": "department",
            "department": "hrss_bureau"}
    await _amqp_command(stack, sign)
    await _amqp_command(stack, sign)  # a redelivered command records nothing twice
    await desk.wait_status("signed")
    await _amqp_command(stack, {"type": "dispatcher.command", "command_id": f"rc2-{desk.ticket_no}",
                                "ticket_no": desk.ticket_no, "action": "recategorise",
                                "actor": "city_gov", "role": "supervisor",
                                "category": "城乡建设", "reason": "复核"})

    async def label() -> dict[str, Any]:
        client = mongo(stack.mongo_url)
        try:
            return await client[stack.mongo_db]["labels"].find_one(
                {"_id": desk.ticket_no}) or {}
        finally:
            await client.close()

    lab = await eventually(label, lambda d: len(d.get("trail", [])) >= 3, timeout=30)
    no = desk.ticket_no
    assert [t["id"] for t in lab["trail"]] == [f"rc1-{no}", f"sg-{no}", f"rc2-{no}"]
    assert (lab["category"], lab["category_by"], lab["category_role"]) == (
        "城乡建设", "city_gov", "supervisor")
    assert (lab["department"], lab["department_by"], lab["department_role"]) == (
        "hrss_bureau", "hrss_bureau", "department")
    seen: list[str] = []

    async def drain() -> list[str]:
        while (msg := await watch.get(no_ack=True, fail=False)) is not None:
            event = json.loads(msg.body)
            if event["ticket_no"] == desk.ticket_no:
                seen.append(event["event_id"])
        return seen

    await eventually(drain, lambda s: len(s) >= 2, timeout=20)
    await conn.close()
    assert len(set(seen)) == 2
