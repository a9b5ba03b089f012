"""Against a real stack (five services as processes, real RabbitMQ, nx-27017 or MONGO_URL):

- every metric the Grafana dashboard and the Prometheus rules query is one the services
  really export (checked against a live /metrics scrape);
- logs are JSON lines with service, message id, ticket number and correlation id, and no
  phone number, ID-card number or name ever reaches them;
- `suqiu dlq` lists, shows, replays (idempotently) and purges dead letters.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from suqiu.channel_client import ChannelPublisher
from suqiu.dlq import dlq_app
from suqiu.samples import SAMPLES, sample_envelopes
from suqiu.shared.topology import Topology
from suqiu.stack import Stack, StackInfo
from tests.ops.helpers import DEPLOY, load_yaml, wait_settled
from tests.ops.promql import metric_names

pytestmark = pytest.mark.e2e

ID_NUMBER = "330106199001011234"  # a well-formed ID-card number planted in complaint texts
N = 12

# Not exported by suqiu: Prometheus' own scrape health, and RabbitMQ's rabbitmq_prometheus
# plugin (per-object metrics; names as documented for RabbitMQ 3.10+).
EXTERNAL = {"up", "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked",
            "rabbitmq_queue_messages", "rabbitmq_queue_consumers"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str,
          mongo_url: str) -> Iterator[tuple[StackInfo, list[dict]]]:
    ns = "o" + uuid.uuid4().hex[:12]
    st = Stack(tmp_path_factory.mktemp("ops-stack"), amqp_url=amqp_url, mongo_url=mongo_url,
               namespace=ns, mongo_db=ns, extra_env={"SUQIU_LOG_LEVEL": "DEBUG"})
    info = st.start()
    try:
        envs = sample_envelopes(N, run_id=uuid.uuid4().hex[:8], now=datetime.now(UTC))
        for env in envs:
            env["content"]["text"] += f" 我的身份证号是{ID_NUMBER}。"
        asyncio.run(_publish(info, envs))
        found = asyncio.run(wait_settled(info.mongo_url, info.mongo_db,
                                         [_key(e) for e in envs], timeout=60))
        assert len(found) == N, "complaints did not leave the automatic pipeline"
        # Most go to a department; a low-confidence one may rest at the triage desk.
        assert sum(d["status"] == "dispatched" for d in found.values()) >= N // 2
        yield info, envs
    finally:
        codes = st.stop()
        asyncio.run(Topology(ns).delete(amqp_url))
    assert all(code == 0 for code in codes.values()), codes


async def _publish(info: StackInfo, envs: list[dict]) -> None:
    async with ChannelPublisher(info.amqp_url, info.namespace) as pub:
        for env in envs:
            await pub.publish(env)


def _key(env: dict) -> str:
    return f"{env['channel']}:{env['channel_message_id']}"


def _exported(info: StackInfo) -> set[str]:
    """Every sample name the services can emit, from a live scrape of each one.

    prometheus_client writes HELP/TYPE for every registered metric, also a labelled one that
    has no child yet (no SLA breach so far, say), so the metric families are complete even
    where samples are not; a family's type gives its sample names (counter `_total`,
    histogram `_bucket`/`_count`/`_sum`)."""
    names: set[str] = set()
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum",
                                                                 "_created"),
                "summary": ("_count", "_sum", "_created"), "gauge": ("",), "info": ("_info",)}
    for proc in info.processes:
        if proc.port is None or proc.name in ("nx-27017", "sms-sandbox"):
            continue
        text = httpx.get(f"http://127.0.0.1:{proc.port}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            names.add(family.name)
            names.update(family.name + s for s in suffixes.get(family.type, ("",)))
            names.update(s.name for s in family.samples)
    return names


def _rabbitmq_names(amqp_url: str) -> set[str] | None:
    """Metric names of the broker's rabbitmq_prometheus plugin, when it is enabled here."""
    from urllib.parse import urlparse

    host = urlparse(amqp_url).hostname or "127.0.0.1"
    try:
        text = httpx.get(f"http://{host}:15692/metrics/per-object", timeout=3).text
    except httpx.HTTPError:
        return None
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def _recorded() -> set[str]:
    rules = load_yaml(DEPLOY / "prometheus/rules.yml")
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def test_dashboard_and_rules_query_only_exported_metrics(stack: tuple[StackInfo, list]) -> None:
    info, _ = stack
    exported = _exported(info)
    # The scrape really is live: the complaints above produced domain samples.
    for name in ("suqiu_intake_tickets_total", "suqiu_classifier_confidence_bucket",
                 "suqiu_dispatcher_dispatched_total",
                 "suqiu_pipeline_intake_to_dispatch_seconds_bucket",
                 "suqiu_notifier_notifications_total", "faststream_received_messages_total",
                 "suqiu_sla_open_deadlines"):
        assert name in exported, name
    known = exported | _recorded() | EXTERNAL
    rabbit = _rabbitmq_names(info.amqp_url)
    if rabbit is not None:  # the plugin is enabled on this broker: check its names for real
        missing = {n for n in EXTERNAL if n.startswith("rabbitmq_")} - rabbit
        assert not missing, f"RabbitMQ does not export {missing}"

    dashboard = json.loads((DEPLOY / "grafana/dashboards/suqiu.json").read_text("utf-8"))
    panels = dashboard["panels"]
    assert len(panels) >= 10
    for panel in panels:
        for target in panel["targets"]:
            used = metric_names(target["expr"])
            assert used, f"panel {panel['title']!r}: no metric in {target['expr']!r}"
            assert used <= known, f"panel {panel['title']!r} queries unknown {used - known}"

    rules = load_yaml(DEPLOY / "prometheus/rules.yml")
    for group in rules["groups"]:
        for rule in group["rules"]:
            used = metric_names(rule["expr"])
            assert used <= known, f"rule {rule.get('alert') or rule.get('record')}: {used - known}"


def test_logs_are_json_with_ids_and_no_personal_data(stack: tuple[StackInfo, list]) -> None:
    info, envs = stack
    phones = {re.sub(r"\D", "", s.phone) for s in SAMPLES if s.phone}
    names = {s.name for s in SAMPLES if s.name}
    handled: dict[str, list[dict]] = {}
    for proc in info.processes:
        if proc.name in ("nx-27017", "sms-sandbox"):
            continue
        for line in Path(proc.log).read_text("utf-8").splitlines():
            record = json.loads(line)  # every line is one JSON object
            digits = re.sub(r"[\s-]", "", line)
            assert not any(p in digits for p in phones), f"phone number in {proc.name} log"
            assert ID_NUMBER not in digits, f"ID-card number in {proc.name} log"
            assert not any(n in line for n in names), f"name in {proc.name} log"
            assert record.get("service") == proc.name.split("#")[0], record
            if record.get("event") == "message_handled":
                for field in ("message_id", "ticket_no", "correlation_id"):
                    assert record.get(field), (field, record)
                handled.setdefault(record["ticket_no"], []).append(record)
    assert len(handled) >= N
    # One complaint's correlation id follows it through every service.
    first = envs[0]["channel_message_id"]
    chains = [r for rs in handled.values() for r in rs if r["correlation_id"] == first]
    assert {r["service"] for r in chains} >= {"intake", "classifier", "dispatcher", "notifier"}


async def _dead_letter_by_broker(info: StackInfo, env: dict) -> None:
    """Put a valid envelope into intake's DLQ as the broker does after the delivery limit."""
    topo = Topology(info.namespace)
    conn = await aio_pika.connect(info.amqp_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        now = datetime.now(UTC)
        death = {"count": 5, "reason": "delivery_limit", "queue": topo.work_queue("intake").name,
                 "time": now, "exchange": topo.intake_exchange,
                 "routing-keys": [Topology.intake_routing_key(env["channel"])]}
        await channel.default_exchange.publish(
            aio_pika.Message(json.dumps(env, ensure_ascii=False).encode(),
                             message_id=env["channel_message_id"],
                             headers={"x-death": [death], "x-first-death-reason": "delivery_limit",
                                      "x-first-death-queue": death["queue"],
                                      "x-first-death-exchange": death["exchange"]},
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=topo.work_queue("intake").dlq)
    finally:
        await conn.close()


async def _count_tickets(info: StackInfo, key: str) -> int:
    from tests.e2e.helpers import mongo

    client = mongo(info.mongo_url)
    try:
        return await client[info.mongo_db]["tickets"].count_documents({"intake_key": key})
    finally:
        await client.close()


def _dlq(info: StackInfo, *args: str) -> str:
    result = CliRunner().invoke(dlq_app, [*args, "--amqp-url", info.amqp_url,
                                          "--namespace", info.namespace])
    assert result.exit_code == 0, result.output
    return result.output


async def _wait_dlq(info: StackInfo, service: str, count: int) -> None:
    from suqiu.dlq import DeadLetterQueues

    q = DeadLetterQueues(info.amqp_url, info.namespace)
    for _ in range(100):
        if (await q.counts())[service] == count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{service} DLQ never held {count} messages")


def test_dlq_list_show_replay_idempotently_and_purge(stack: tuple[StackInfo, list]) -> None:
    info, _ = stack
    run = uuid.uuid4().hex[:8]
    good = sample_envelopes(1, run_id=run, now=datetime.now(UTC))[0]
    # A person and a text of its own, so intake does not link it to the fixture's complaint.
    good["complainant"]["phone"] = f"139{int(run, 16) % 10**8:08d}"
    good["content"]["text"] = f"小区东门路灯坏了一个月，晚上很黑，请尽快维修。编号{run}"
    bad = b'{"channel": "hotline", "content": '
    asyncio.run(_dead_letter_by_broker(info, good))

    async def publish_bad() -> None:
        async with ChannelPublisher(info.amqp_url, info.namespace) as pub:
            await pub.publish({"channel": "hotline"}, body=bad, message_id=f"bad-{run}")

    asyncio.run(publish_bad())  # intake refuses it and dead-letters it itself
    asyncio.run(_wait_dlq(info, "intake", 2))

    listing = _dlq(info, "list")
    assert re.search(rf"{info.namespace}\.intake\.dlq\s*│\s*2\b", listing), listing
    shown = [json.loads(line) for line in _dlq(info, "show", "intake", "--json").splitlines()]
    by_id = {s["message_id"]: s for s in shown}
    assert by_id[good["channel_message_id"]]["reason"] == "delivery_limit"
    assert by_id[good["channel_message_id"]]["routing_key"] == "intake." + good["channel"]
    refused = by_id[f"bad-{run}"]
    assert refused["reason"] == "invalid_json"
    assert refused["exchange"] == f"{info.namespace}.intake"
    assert refused["routing_key"] == "intake.hotline"
    assert refused["original_queue"] == f"{info.namespace}.intake.work"
    phone = re.sub(r"\D", "", good["complainant"]["phone"] or "")
    body_digits = re.sub(r"\D", "", by_id[good["channel_message_id"]]["body"])
    assert phone and phone not in body_digits, "`dlq show` must mask personal data"

    # Replay only the valid one: it becomes a ticket; the refused one stays.
    out = _dlq(info, "replay", "intake", "--reason", "delivery_limit")
    assert "replayed 1; left in the DLQ 1" in out
    found = asyncio.run(wait_settled(info.mongo_url, info.mongo_db, [_key(good)], timeout=30))
    assert _key(good) in found
    # Replaying the same message again (say, after an interrupted run) changes nothing.
    asyncio.run(_dead_letter_by_broker(info, good))
    asyncio.run(_wait_dlq(info, "intake", 2))
    assert "replayed 1;" in _dlq(info, "replay", "intake", "--message-id",
                                 good["channel_message_id"])
    asyncio.run(_wait_dlq(info, "intake", 1))
    asyncio.run(asyncio.sleep(1.0))
    assert asyncio.run(_count_tickets(info, _key(good))) == 1

    # Replaying the refused one sends it back through intake, which refuses it again.
    assert "replayed 1;" in _dlq(info, "replay", "intake")
    asyncio.run(_wait_dlq(info, "intake", 1))
    again = json.loads(_dlq(info, "show", "intake", "--json").splitlines()[0])
    assert again["message_id"] == f"bad-{run}" and again["reason"] == "invalid_json"

    assert "purged 1" in _dlq(info, "purge", "intake", "--yes")
    asyncio.run(_wait_dlq(info, "intake", 0))


def test_open_deadlines_are_walked_from_the_due_at_index(stack: tuple[StackInfo, list]) -> None:
    """The bounded walk behind suqiu_sla_open_deadlines works on this store: every dispatched
    order has one resolution timer, due within 30 days, and the walk stops at its cap."""
    from suqiu.services.sla_monitor.repository import SlaTimerRepository
    from suqiu.shared.store import Store

    info, _ = stack
    dispatched = asyncio.run(_count_dispatched(info))

    async def walk(cap: int) -> list[dict]:  # type: ignore[type-arg]
        store = Store(info.mongo_url, info.mongo_db)
        try:
            return await SlaTimerRepository(store).upcoming(
                datetime.now(UTC), timedelta(days=30), cap)
        finally:
            await store.close()

    docs = asyncio.run(walk(10_000))
    assert sum(1 for d in docs if d["step"] == "resolution") >= dispatched > 0
    assert len(asyncio.run(walk(1))) == 1


async def _count_dispatched(info: StackInfo) -> int:
    from tests.e2e.helpers import mongo

    client = mongo(info.mongo_url)
    try:
        return await client[info.mongo_db]["tickets"].count_documents({"status": "dispatched"})
    finally:
        await client.close()
