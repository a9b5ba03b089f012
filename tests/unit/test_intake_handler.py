"""The intake handler on FastStream's in-memory broker with an in-memory store: every
channel's message, idempotency, near-duplicate linking, invalid orders, revalidation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from faststream.rabbit import TestRabbitBroker

from suqiu.services.intake.settings import IntakeSettings
from suqiu.shared.contracts import EVENT_ADAPTER, TicketInvalid, TicketLinked, TicketReceived, WorkOrder
from tests.factories import T0, envelope_payload
from tests.intake_doubles import TestIntake, build_test_intake

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy/examples/intake"
NOW = T0 + timedelta(minutes=1)


def _example(name: str, **overrides: Any) -> dict[str, Any]:
    data = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    return {**data, **overrides}


def _bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


@pytest.fixture
async def intake() -> AsyncIterator[TestIntake]:
    service = build_test_intake(IntakeSettings(duplicate_window_hours=24, callback_hours=8),
                                clock=lambda: NOW)
    async with TestRabbitBroker(service.broker):
        yield service


def _tickets(intake: TestIntake) -> list[WorkOrder]:
    return [WorkOrder.from_document(d) for d in intake.store.docs("tickets")]


def _events(intake: TestIntake) -> list[Any]:
    return [EVENT_ADAPTER.validate_json(m.body) for m in intake.events]


@pytest.mark.parametrize("name", ["hotline_call", "web_form", "wechat", "email", "sms", "letter",
                                  "walk_in", "transfer", "app"])
async def test_each_channel_message_creates_a_ticket_with_a_receipt(intake: TestIntake, name: str) -> None:
    body = _bytes(_example(name))
    await intake.deliver(body)
    [order] = _tickets(intake)
    assert order.raw_payload is None  # kept apart: the order every stage rewrites stays small
    [payload] = intake.store.docs("intake_payloads")
    assert payload["_id"] == order.intake_key and payload["raw_payload"].encode() == body
    [event] = _events(intake)
    assert isinstance(event, TicketReceived) and event.ticket_no == order.ticket_no
    assert event.promised_by is not None and event.promised_by == order.promised_by
    assert intake.sample("suqiu_intake_received_total", channel=order.channel.value) == 1
    assert intake.sample("suqiu_intake_normalise_seconds_count", channel=order.channel.value) == 1


async def test_receipt_promise_is_24h_or_the_regulators_earlier_deadline(intake: TestIntake) -> None:
    await intake.deliver(_bytes(_example("web_form")))
    await intake.deliver(_bytes(_example("transfer", deadline="2026-11-23T20:00:00+08:00")))
    web, transfer = sorted(_tickets(intake), key=lambda o: o.channel.value == "transfer")
    assert web.promised_by == web.received_at + timedelta(hours=24)
    assert transfer.promised_by is not None
    assert transfer.promised_by.isoformat() == "2026-11-23T20:00:00+08:00"


async def test_same_channel_message_twice_is_one_ticket(intake: TestIntake) -> None:
    body = _bytes(_example("sms"))
    await intake.deliver(body)
    await intake.deliver(body)
    assert len(_tickets(intake)) == 1
    assert len({e.event_id for e in _events(intake)}) == 1
    assert intake.sample("suqiu_intake_duplicates_total", channel="sms", kind="redelivery") == 1


async def test_repeat_by_the_same_person_is_linked_not_a_new_ticket(intake: TestIntake) -> None:
    first = _example("hotline_call")
    again = _example("hotline_call", message_id="CALL-20261123-000377", call_id="C2",
                     summary=first["summary"] + "请尽快处理！", received_at="2026-11-23T13:00:00+08:00")
    await intake.deliver(_bytes(first))
    await intake.deliver(_bytes(again))
    await intake.deliver(_bytes(again))  # redelivered: still one link, same event id
    [order] = _tickets(intake)
    [link] = intake.store.docs("linked_submissions")
    assert link["_id"] == "hotline:CALL-20261123-000377" and link["ticket_no"] == order.ticket_no
    linked = [e for e in _events(intake) if isinstance(e, TicketLinked)]
    assert len(linked) == 2 and len({e.event_id for e in linked}) == 1
    assert linked[0].ticket_no == order.ticket_no and linked[0].similarity >= 0.8
    assert intake.sample("suqiu_intake_tickets_total", channel="hotline", outcome="linked") == 1
    assert intake.sample("suqiu_intake_duplicates_total", channel="hotline", kind="linked") == 1


async def test_other_person_or_other_text_or_outside_window_is_a_new_ticket(intake: TestIntake) -> None:
    first = _example("hotline_call")
    await intake.deliver(_bytes(first))
    await intake.deliver(_bytes({**first, "message_id": "c-2", "caller_number": "13900009999"}))
    await intake.deliver(_bytes({**first, "message_id": "c-3", "summary": "小区路灯坏了两个星期没人修。"}))
    await intake.deliver(_bytes({**first, "message_id": "c-4", "received_at": "2026-11-25T09:15:42+08:00"}))
    assert len(_tickets(intake)) == 4
    assert intake.store.docs("linked_submissions") == []


async def test_invalid_order_is_kept_with_reasons_and_a_call_back_task(intake: TestIntake) -> None:
    await intake.deliver(_bytes(_example("sms", text="测试")))
    [order] = _tickets(intake)
    assert order.status.value == "invalid"
    assert order.validity is not None and [r.code for r in order.validity.reasons] == ["test"]
    [event] = _events(intake)
    assert isinstance(event, TicketInvalid) and event.reasons == ["test"]
    assert event.callback_due == NOW + timedelta(hours=8)
    assert intake.sample("suqiu_intake_invalid_total", channel="sms", reason="test") == 1
    assert intake.sample("suqiu_intake_tickets_total", channel="sms", outcome="invalid") == 1


async def test_empty_hotline_call_is_an_invalid_order_not_a_rejection(intake: TestIntake) -> None:
    await intake.deliver(_bytes(_example("hotline_call", summary="", transcript="")))
    [order] = _tickets(intake)
    assert order.content.text == "" and [r.code for r in order.validity.reasons] == ["empty"]
    assert intake.store.docs("rejected_messages") == []


async def test_repeat_of_an_invalid_order_is_invalid_as_duplicate(intake: TestIntake) -> None:
    await intake.deliver(_bytes(_example("sms", text="测试一下")))
    await intake.deliver(_bytes(_example("sms", text="测试一下", message_id="SMS-2")))
    first, second = sorted(_tickets(intake), key=lambda o: o.ticket_no)
    assert [r.code for r in second.validity.reasons] == ["test", "duplicate"]
    assert second.validity.reasons[1].detail == first.ticket_no


async def test_revalidate_command_moves_invalid_to_received_and_emits_received(intake: TestIntake) -> None:
    await intake.deliver(_bytes(_example("sms", text="路灯")))
    [order] = _tickets(intake)
    command = _bytes(_example("revalidate", ticket_no=order.ticket_no))
    await intake.deliver(command)
    await intake.deliver(command)  # repeated: same event again, no second change
    [after] = _tickets(intake)
    assert after.status.value == "received" and after.version == 2
    assert after.validity.revalidated_by == "OP-017"
    assert [h.action for h in after.history] == ["receive", "revalidate"]
    received = [e for e in _events(intake) if isinstance(e, TicketReceived)]
    # ticket.received waits in the outbox for the classifier's write (HANDED_ON): the repeat
    # announces it again, same id
    assert len(received) == 2 and {e.event_id for e in received} == {f"{order.ticket_no}:received"}
    assert intake.sample("suqiu_intake_revalidated_total") == 1


async def test_revalidating_a_valid_or_unknown_ticket_is_rejected(intake: TestIntake) -> None:
    await intake.deliver(_bytes(_example("web_form")))
    [order] = _tickets(intake)
    await intake.deliver(_bytes(_example("revalidate", ticket_no=order.ticket_no)))
    await intake.deliver(_bytes(_example("revalidate", ticket_no="SQ-20991231-000001")))
    reasons = sorted(d["reason"] for d in intake.store.docs("rejected_messages"))
    assert reasons == ["illegal_transition", "unknown_ticket"]


async def test_rejections_name_field_and_reason_in_english_and_chinese(intake: TestIntake) -> None:
    await intake.deliver(_bytes({"type": "intake.fax", "message_id": "f-1"}), message_id="r-1")
    await intake.deliver(_bytes(_example("sms", sender="")), message_id="r-2")
    await intake.deliver(b"[1, 2]", message_id="r-3")
    await intake.deliver(b"{oops", message_id="r-4")
    await intake.deliver(_bytes(_example("email", rfc822=None)), message_id="r-5")
    docs = {d["message_id"]: d for d in intake.store.docs("rejected_messages")}
    assert {k: [(e["field"], e["reason"]) for e in d["errors"]] for k, d in docs.items()} == {
        "r-1": [("type", "unknown_type")],
        "r-2": [("sender", "string_too_short")],
        "r-3": [("$", "not_an_object")],
        "r-4": [("$", "invalid_json")],
        "r-5": [("$", "value_error")],
    }
    for d in docs.values():
        assert all(e["message"] and e["message_zh"] for e in d["errors"])
        assert d["body_base64"]
    assert len(intake.dead_letters) == 5
    assert _tickets(intake) == []


async def test_generic_envelope_still_works_and_links_can_be_switched_off() -> None:
    service = build_test_intake(IntakeSettings(duplicate_window_hours=0))
    async with TestRabbitBroker(service.broker):
        body = _bytes(envelope_payload(channel_message_id="e-1"))
        await service.deliver(body)
        await service.deliver(_bytes(envelope_payload(channel_message_id="e-2")))  # same person+text
    assert len(service.store.docs("tickets")) == 2
