"""Every channel's own message through the whole pipeline (five services as processes): each
becomes a work order that is classified and dispatched; a traditional-character complaint is
classified from its simplified analysis text; an invalid order stops at intake."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from suqiu.channel_client import wait_for_tickets
from suqiu.shared.topology import Topology
from suqiu.stack import StackInfo
from tests.e2e.helpers import eventually, metric_sum, mongo, running_stack

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy/examples/intake"
CHANNELS = {"hotline_call": "hotline", "web_form": "web", "wechat": "wechat", "email": "email",
            "sms": "sms", "letter": "letter", "walk_in": "walk_in", "transfer": "transfer", "app": "app"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_url: str, mongo_url: str) -> Iterator[StackInfo]:
    with running_stack(tmp_path_factory.mktemp("channels"), amqp_url, mongo_url, "c") as info:
        yield info


async def _publish(stack: StackInfo, messages: list[tuple[str, dict[str, Any]]]) -> None:
    conn = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(Topology(stack.namespace).intake_exchange)
        for routing, data in messages:
            await exchange.publish(aio_pika.Message(
                json.dumps(data, ensure_ascii=False).encode(), message_id=data["message_id"],
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT, content_type="application/json"),
                routing_key=f"intake.{routing}")
    finally:
        await conn.close()


def _message(name: str, run: str, **overrides: Any) -> dict[str, Any]:
    data = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    return {**data, "message_id": f"{data['message_id']}-{run}",
            "received_at": datetime.now(UTC).isoformat(), **overrides}


async def test_every_channel_reaches_dispatched_and_invalid_stops_at_intake(stack: StackInfo) -> None:
    run = uuid.uuid4().hex[:8]
    messages = [(routing, _message(name, run)) for name, routing in CHANNELS.items()]
    traditional = _message("web_form", run, message_id=f"WEB-trad-{run}",
                           address=None, lat=None, lon=None,
                           description="西湖區文新街道的工地每天半夜施工，打樁聲音極大，請儘快處理！")
    invalid = _message("sms", run, message_id=f"SMS-test-{run}", text="测试")
    await _publish(stack, [*messages, ("web", traditional), ("sms", invalid)])

    keys = [f"{routing}:{data['message_id']}" for routing, data in messages]
    found = await wait_for_tickets(stack.mongo_url, stack.mongo_db,
                                   [*keys, f"web:{traditional['message_id']}"], timeout=90)
    assert sorted(found) == sorted([*keys, f"web:{traditional['message_id']}"])
    for key in keys:
        doc = found[key]
        assert doc["status"] == "dispatched" and doc["dispatch"]["department"], key
        assert [h["action"] for h in doc["history"]] == ["receive", "classify", "dispatch"]
        assert doc["promised_by"] is not None
    trad = found[f"web:{traditional['message_id']}"]
    assert trad["content"]["text"] == traditional["description"]
    assert trad["classification"]["category"] == "城乡建设"
    assert trad["classification"]["region"]["district"] == "西湖区"

    client = mongo(stack.mongo_url)
    try:
        doc = await eventually(lambda: client[stack.mongo_db]["tickets"].find_one(
            {"intake_key": f"sms:{invalid['message_id']}"}), lambda d: d is not None)
    finally:
        await client.close()
    assert doc is not None and doc["status"] == "invalid" and doc["classification"] is None
    assert metric_sum(stack.ports("intake"), "suqiu_intake_invalid_total", reason="test") == 1
    assert metric_sum(stack.ports("intake"), "suqiu_intake_received_total", channel="email") == 1
