"""A dispatcher killed between its write and its publish loses no event and acts on nothing
twice (the outbox in the work order), for a department command and for the propagation of a
mass-incident master's command to its members.

The other four services run as processes (suqiu.stack); the dispatcher is started by the test,
first with `SUQIU_FAULT_CRASH_AFTER_SAVE` (it exits hard, code 86, right after the write), then
again without it: the redelivered command must publish what the first one left in the outbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractQueue

from suqiu.channel_client import ChannelPublisher
from suqiu.samples import SAMPLES, build_envelope
from suqiu.shared.contracts import TicketMassIncident
from suqiu.shared.outbox import FAULT_ENV, FAULT_EXIT_CODE
from suqiu.stack import SERVICE_PORT_ENV, StackInfo, free_port
from tests.e2e.helpers import eventually, mongo, running_stack

pytestmark = pytest.mark.e2e

UNSETTLED = {"received", "classified"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[StackInfo]:
    """Intake, classifier, SLA monitor and notifier; no dispatcher (each test runs its own)."""
    with running_stack(tmp_path_factory.mktemp("outbox"), amqp_url, mongo_url, "o",
                       replicas={"dispatcher": 0}) as info:
        yield info


class Dispatcher:
    """One dispatcher process, optionally with a crash point."""

    def __init__(self, stack: StackInfo, log: Path, fault: str | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        env = dict(os.environ) | (extra_env or {}) | {
            "AMQP_URL": stack.amqp_url, "MONGO_URL": stack.mongo_url,
            "SUQIU_NAMESPACE": stack.namespace, "SUQIU_MONGO_DB": stack.mongo_db,
            SERVICE_PORT_ENV["dispatcher"]: str(self.port)}
        env.pop(FAULT_ENV, None)
        if fault:
            env[FAULT_ENV] = fault
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "suqiu.cli", "run", "dispatcher"], env=env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.log = log

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("dispatcher not ready:\n" + self.log.read_text(errors="replace"))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(30)


async def _doc(stack: StackInfo, ticket_no: str) -> dict[str, Any]:
    client = mongo(stack.mongo_url)
    try:
        doc = await client[stack.mongo_db]["tickets"].find_one({"_id": ticket_no})
    finally:
        await client.close()
    assert doc is not None
    return doc


async def _by_intake_key(stack: StackInfo, keys: list[str]) -> dict[str, dict[str, Any]]:
    client = mongo(stack.mongo_url)
    try:
        coll = client[stack.mongo_db]["tickets"]
        return {k: d for k in keys if (d := await coll.find_one({"intake_key": k})) is not None}
    finally:
        await client.close()


async def _submit(stack: StackInfo, n: int, seq0: int) -> list[str]:
    """n distinct hotline complaints through intake and the classifier; their ticket numbers
    once each is dispatched (or waits in triage, then assigned by an operator command)."""
    samples = [s for s in SAMPLES if s.channel == "hotline" and s.phone][:n]
    run = uuid.uuid4().hex[:8]
    envs = [build_envelope(s, seq=seq0 + i, run_id=run, now=datetime.now(UTC))
            for i, s in enumerate(samples)]
    async with ChannelPublisher(stack.amqp_url, stack.namespace) as pub:
        for env in envs:
            await pub.publish(env)
    keys = [f"{e['channel']}:{e['channel_message_id']}" for e in envs]
    found = await eventually(lambda: _by_intake_key(stack, keys), lambda f: len(f) == len(keys)
                             and all(d["status"] not in UNSETTLED for d in f.values()), 90)
    assert len(found) == len(keys), found
    numbers = [found[k]["_id"] for k in keys]
    for no in numbers:
        if found[next(k for k in keys if found[k]["_id"] == no)]["status"] == "triage":
            await _command(stack, no, "assign", role="operator", target="construction_bureau")
    for no in numbers:
        doc = await eventually(lambda no=no: _doc(stack, no), lambda d: d["status"] == "dispatched")
        assert doc["status"] == "dispatched"
    return numbers


async def _publish(stack: StackInfo, exchange: str, key: str, body: dict[str, Any],
                   message_id: str) -> None:
    conn = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        ex = await channel.get_exchange(exchange)
        await ex.publish(aio_pika.Message(
            json.dumps(body, ensure_ascii=False).encode(), message_id=message_id,
            content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=key)
    finally:
        await conn.close()


async def _command(stack: StackInfo, ticket_no: str, action: str, **fields: Any) -> str:
    command_id = f"{action}-{uuid.uuid4().hex[:10]}"
    body = {"type": "dispatcher.command", "command_id": command_id, "ticket_no": ticket_no,
            "action": action, "actor": fields.get("department") or "ops",
            "role": "department", **fields}
    await _publish(stack, f"{stack.namespace}.intake", "command.dispatcher", body, command_id)
    return command_id


async def _drain(queue: AbstractQueue) -> list[dict[str, Any]]:
    out = []
    while (msg := await queue.get(no_ack=True, fail=False)) is not None:
        out.append(json.loads(msg.body) | {"_message_id": msg.message_id})
    return out


async def _watch(stack: StackInfo) -> tuple[aio_pika.abc.AbstractConnection, AbstractQueue]:
    conn = await aio_pika.connect(stack.amqp_url)
    channel = await conn.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(f"{stack.namespace}.events", routing_key="ticket.signed")
    return conn, queue


def _signs(doc: dict[str, Any]) -> int:
    return sum(1 for h in doc["history"] if h["action"] == "sign")


async def _until_signed(stack: StackInfo, numbers: list[str], queue: AbstractQueue,
                        seen: list[dict[str, Any]]) -> set[str]:
    async def probe() -> set[str]:
        seen.extend(await _drain(queue))
        return {e["ticket_no"] for e in seen}
    return await eventually(probe, lambda got: got >= set(numbers), timeout=60)


async def test_a_command_whose_publish_was_cut_by_a_crash_is_announced_after_restart(
        stack: StackInfo, tmp_path: Path) -> None:
    setup = Dispatcher(stack, tmp_path / "dispatcher-0.log")
    try:
        setup.wait_ready()
        [no] = await _submit(stack, 1, seq0=7001)
    finally:
        assert setup.stop() == 0
    first = Dispatcher(stack, tmp_path / "dispatcher-1.log", fault="dispatcher.command")
    try:
        first.wait_ready()
        conn, watch = await _watch(stack)
        lead = (await _doc(stack, no))["lifecycle"]["lead"]
        command_id = await _command(stack, no, "sign", department=lead)
        assert await asyncio.to_thread(first.proc.wait, 60) == FAULT_EXIT_CODE
    finally:
        first.stop()
    crashed = await _doc(stack, no)
    assert crashed["status"] == "signed" and _signs(crashed) == 1
    assert [e["event_id"] for e in crashed["outbox"].values()] == [f"{no}:signed:{crashed['version']}"]
    assert await _drain(watch) == []  # written, never published

    second = Dispatcher(stack, tmp_path / "dispatcher-2.log")
    try:
        second.wait_ready()
        seen: list[dict[str, Any]] = []
        assert await _until_signed(stack, [no], watch, seen) == {no}
        done = await eventually(lambda: _doc(stack, no), lambda d: not d["outbox"])
        assert done["outbox"] == {} and done["version"] == crashed["version"]
        assert _signs(done) == 1 and done["lifecycle"]["applied"].count(command_id) == 1
        assert {e["event_id"] for e in seen} == {f"{no}:signed:{crashed['version']}"}
    finally:
        assert second.stop() == 0
        await conn.close()


async def test_a_crash_mid_propagation_leaves_no_mass_incident_member_behind(
        stack: StackInfo, tmp_path: Path) -> None:
    setup = Dispatcher(stack, tmp_path / "dispatcher-0.log")
    try:
        setup.wait_ready()
        master, *members = numbers = await _submit(stack, 3, seq0=7101)
        event = TicketMassIncident(
            event_id=f"{master}:mass_incident:test", ticket_no=members[-1],
            occurred_at=datetime.now(UTC), intake_at=datetime.now(UTC), cluster_id=master,
            master_ticket_no=master, members=numbers, households=3, category="城乡建设")
        await _publish(stack, f"{stack.namespace}.events", "ticket.mass_incident",
                       event.model_dump(mode="json"), event.event_id)
        merged = await eventually(lambda: _doc(stack, master),
                                  lambda d: d["lifecycle"]["members"] == numbers)
        assert merged["lifecycle"]["members"] == numbers
    finally:
        assert setup.stop() == 0
    # Crash once the master's own event and the first member's copy are out (2 published).
    first = Dispatcher(stack, tmp_path / "dispatcher-1.log", fault="dispatcher.command@2")
    try:
        first.wait_ready()
        conn, watch = await _watch(stack)
        lead = merged["lifecycle"]["lead"]
        command_id = await _command(stack, master, "sign", department=lead)
        assert await asyncio.to_thread(first.proc.wait, 60) == FAULT_EXIT_CODE
    finally:
        first.stop()
    crashed = await _doc(stack, master)
    assert crashed["status"] == "signed" and len(crashed["outbox"]) == 3
    for no in members:
        assert (await _doc(stack, no))["status"] == "dispatched"  # nobody followed yet

    second = Dispatcher(stack, tmp_path / "dispatcher-2.log")
    try:
        second.wait_ready()
        seen: list[dict[str, Any]] = []
        assert await _until_signed(stack, numbers, watch, seen) == set(numbers)
        for no in numbers:
            doc = await eventually(lambda no=no: _doc(stack, no),
                                   lambda d: d["status"] == "signed" and not d["outbox"])
            assert doc["status"] == "signed" and doc["outbox"] == {}, no
            assert _signs(doc) == 1, no  # acted on once, though its copy came twice
            cid = command_id if no == master else f"{command_id}@{no}"
            assert doc["lifecycle"]["applied"].count(cid) == 1
        # one fact, one id: a repeated publish carries the same event id
        assert len({e["event_id"] for e in seen}) == len(numbers)
    finally:
        assert second.stop() == 0
        await conn.close()


async def test_an_http_command_cut_by_a_crash_is_published_by_the_sweeper(
        stack: StackInfo, tmp_path: Path) -> None:
    """No redelivery and nobody touches the order again: the restarted dispatcher's outbox
    sweeper publishes what the crashed HTTP command left pending (docs/events.md)."""
    lead_token = "tok-sweeper-lead-0123456789"
    setup = Dispatcher(stack, tmp_path / "dispatcher-0.log")
    try:
        setup.wait_ready()
        [no] = await _submit(stack, 1, seq0=7301)
    finally:
        assert setup.stop() == 0
    lead = (await _doc(stack, no))["lifecycle"]["lead"]
    creds = {"SUQIU_DISPATCHER_CREDENTIALS": json.dumps({lead_token: {"department": lead}})}
    first = Dispatcher(stack, tmp_path / "dispatcher-1.log", fault="dispatcher.command",
                       extra_env=creds)
    conn, watch = await _watch(stack)
    try:
        first.wait_ready()
        with pytest.raises(httpx.HTTPError):  # the process dies before it answers
            await asyncio.to_thread(
                httpx.post, f"http://127.0.0.1:{first.port}/dispatcher/v1/tickets/{no}/commands",
                json={"action": "sign"}, headers={"Authorization": f"Bearer {lead_token}"},
                timeout=30)
        assert await asyncio.to_thread(first.proc.wait, 60) == FAULT_EXIT_CODE
    finally:
        first.stop()
    crashed = await _doc(stack, no)
    assert crashed["status"] == "signed" and crashed["outbox"] and crashed.get("outbox_since")
    assert await _drain(watch) == []

    second = Dispatcher(stack, tmp_path / "dispatcher-2.log", extra_env=creds | {
        "SUQIU_DISPATCHER_OUTBOX_SWEEP_INTERVAL_S": "0.2",
        "SUQIU_DISPATCHER_OUTBOX_SWEEP_AGE_S": "0.5"})
    try:
        second.wait_ready()
        seen: list[dict[str, Any]] = []
        assert await _until_signed(stack, [no], watch, seen) == {no}
        done = await eventually(lambda: _doc(stack, no), lambda d: not d["outbox"])
        assert done["outbox"] == {} and "outbox_since" not in done
        assert done["version"] == crashed["version"]  # published, not acted on again
        assert {e["event_id"] for e in seen} == {f"{no}:signed:{crashed['version']}"}
    finally:
        assert second.stop() == 0
        await conn.close()
