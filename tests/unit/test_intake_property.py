"""Property: whatever arrives on the intake queue, the service keeps going, and every message
ends as a ticket, a link or a stored rejection (with field, reason, English and Chinese
message): counted, none lost, none retried.

Thousands of random and mutated payloads of every channel go through exactly what the
subscriber runs (the shared acknowledgement policy, intake's parser and handler) with an
in-memory store; the broker plumbing itself is covered by the component and integration tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suqiu.services.intake.settings import IntakeSettings
from tests.factories import envelope_payload
from tests.intake_doubles import build_direct_intake

pytestmark = pytest.mark.unit

EXAMPLES = {p.stem: json.loads(p.read_text("utf-8"))
            for p in (Path(__file__).resolve().parents[2] / "deploy/examples/intake").glob("*.json")}
EXAMPLES["envelope"] = envelope_payload()
BATCH = 25
EXAMPLES_RUN = int(os.environ.get("SUQIU_PROPERTY_EXAMPLES", "120"))  # x BATCH = 3,000 payloads

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="臺灣測試噪音擾民路燈不亮請處理ＡＢＣ１２３　！？ \n\t傻逼", max_size=60),
    st.sampled_from(["", " ", "测试", "路灯", "13800138000", "小区门口夜间施工噪音很大，影响休息。" * 3]),
    st.integers(7990, 8010).map(lambda n: "测" * n),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts,
                    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                           max_size=2))


@st.composite
def payloads(draw: st.DrawFn) -> bytes | dict[str, Any]:
    kind = draw(st.sampled_from(["intact", "text_only", "text_only", "mutated", "mutated",
                                 "random_json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "random_json":
        value = draw(st.recursive(scalars, lambda c: st.lists(c, max_size=3)
                                  | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=8))
        return json.dumps(value, ensure_ascii=False, allow_nan=True).encode()
    data = dict(EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))])
    keys = sorted(data)
    if kind == "text_only":
        for key in ("summary", "description", "content", "text", "ocr_text"):
            if key in data and isinstance(data[key], str):
                data[key] = draw(texts)
    elif kind == "mutated":
        for _ in range(draw(st.integers(1, 3))):
            op = draw(st.sampled_from(["drop", "set", "add", "retag"]))
            key = draw(st.sampled_from(keys))
            if op == "drop":
                data.pop(key, None)
            elif op == "set":
                data[key] = draw(scalars)
            elif op == "add":
                data[draw(st.text(min_size=1, max_size=8))] = draw(scalars)
            else:
                data["type"] = draw(st.sampled_from(
                    [f"intake.{n}" for n in EXAMPLES] + ["intake.fax", "", "intake.submitted"]))
    return data


def _encode(payload: bytes | dict[str, Any], n: int) -> bytes:
    """Dicts get a unique channel message id 9 times in 10 (the 10th may repeat one)."""
    if isinstance(payload, bytes):
        return payload
    if n % 10 and "message_id" in payload:
        payload = {**payload, "message_id": f"u-{n}"}
    return json.dumps(payload, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def test_every_message_ends_as_ticket_link_or_rejection_and_none_is_lost() -> None:
    service = build_direct_intake(IntakeSettings(duplicate_window_hours=24))
    loop = asyncio.new_event_loop()
    ids = itertools.count()
    sent: list[str] = []
    unacked: list[str] = []
    keys = ["intake." + k for k in ("hotline", "web", "wechat", "email", "sms", "bogus", "")]

    @settings(max_examples=EXAMPLES_RUN, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(payloads(), min_size=BATCH, max_size=BATCH))
    def feed(batch: list[bytes | dict[str, Any]]) -> None:
        for payload in batch:
            n = next(ids)
            body = _encode(payload, n)
            message_id = f"p-{n}"
            sent.append(message_id)
            delivery = loop.run_until_complete(service.deliver(body, message_id, keys[n % len(keys)]))
            if not delivery.acked or delivery.nacked:
                unacked.append(message_id)

    try:
        feed()
    finally:
        loop.close()

    outcomes = {o: service.sample("suqiu_consumer_messages_total", service="intake",
                                  queue="direct.intake.work", outcome=o)
                for o in ("created", "invalid", "linked", "duplicate", "ok", "rejected", "retried")}
    assert len(sent) >= EXAMPLES_RUN * BATCH
    assert outcomes["retried"] == 0 and unacked == [], "a payload failed instead of being rejected"
    assert sum(outcomes.values()) == len(sent), outcomes  # every message acked with an outcome
    rejected = service.store.docs("rejected_messages")
    assert len(rejected) == outcomes["rejected"]
    assert {r["message_id"] for r in rejected} <= set(sent)
    assert len(service.store.docs("tickets")) == outcomes["created"] + outcomes["invalid"]
    assert len(service.store.docs("linked_submissions")) == outcomes["linked"]
    for record in rejected:
        assert "body_base64" in record and record["errors"]
        for e in record["errors"]:
            assert e["field"] and e["reason"] and e["message"] and e["message_zh"], e
    assert len(service.publisher.dead_letters) == outcomes["rejected"]
    by_reason = sum(service.sample("suqiu_intake_rejected_total", channel=c, reason=r)
                    for c in ("hotline", "web", "wechat", "email", "sms", "unknown")
                    for r in ("validation_failed", "invalid_json", "invalid_encoding",
                              "normalisation_failed", "unknown_ticket", "illegal_transition"))
    assert by_reason == outcomes["rejected"]
    assert outcomes["created"] > 0 and outcomes["rejected"] > 0 and outcomes["invalid"] > 0
