"""Intake rules: analysis text, the new work order, the received event."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from suqiu.services.intake.domain import analysis_text, new_work_order, received_event
from suqiu.shared.contracts import Channel, TicketStatus
from tests.factories import T0, envelope_payload, make_envelope

pytestmark = pytest.mark.unit

NOW = T0 + timedelta(seconds=3)


@pytest.mark.parametrize(("raw", "expected"), [
    ("ＡＢＣ１２３", "ABC123"),
    ("电话：１３８ ００１３ ８０００", "电话:138 0013 8000"),
    ("路灯不亮！！", "路灯不亮!!"),
    ("  多个   空格\n\n换行\t制表  ", "多个 空格 换行 制表"),
    ("全角　空格", "全角 空格"),
    ("㈠３㎡", "(一)3m2"),
])
def test_analysis_text_folds_full_width_and_collapses_whitespace(raw: str,
                                                                 expected: str) -> None:
    assert analysis_text(raw) == expected


def _order(**overrides: object):
    env = make_envelope(**overrides)
    body = json.dumps(envelope_payload(**overrides), ensure_ascii=False).encode()
    return env, body, new_work_order(env, "SQ-20261123-000007", body, NOW)


def test_new_work_order_keeps_original_text_verbatim() -> None:
    text = "夜间施工　噪音很大！！\n请处理"
    _, _, order = _order(content={"text": text})
    assert order.content.text == text
    assert order.analysis_text == "夜间施工 噪音很大!! 请处理"


def test_new_work_order_keeps_raw_body_exactly() -> None:
    _, body, order = _order()
    assert order.raw_payload.encode("utf-8") == body


def test_new_work_order_normalises_phone_but_keeps_other_complainant_fields() -> None:
    _, _, order = _order(complainant={"name": "李四", "phone": "+86 139-1234-5678",
                                      "consent_to_contact": True})
    assert order.complainant.phone == "13912345678"
    assert order.complainant.name == "李四"
    assert order.complainant.consent_to_contact is True


def test_new_work_order_is_received_with_one_history_entry() -> None:
    env, _, order = _order(channel="wechat", channel_message_id="wx-1")
    assert order.status is TicketStatus.RECEIVED
    assert order.version == 1
    assert order.ticket_no == "SQ-20261123-000007"
    assert order.intake_key == "wechat:wx-1" == env.intake_key
    assert order.channel is Channel.WECHAT
    assert order.received_at == T0
    assert order.created_at == order.updated_at == NOW
    assert [(h.actor, h.from_status, h.to_status) for h in order.history] == [
        ("intake", None, TicketStatus.RECEIVED)]
    assert order.classification is None and order.dispatch is None and order.sla is None


def test_new_work_order_invents_nothing_for_anonymous_complainant() -> None:
    _, _, order = _order(complainant={"anonymous": True}, location={})
    assert order.complainant.phone is None
    assert order.complainant.name is None
    assert order.location.address is None


def test_received_event_is_deterministic() -> None:
    _, _, order = _order()
    event = received_event(order)
    assert event.type == "ticket.received"
    assert event.event_id == "SQ-20261123-000007:received"
    assert event.ticket_no == order.ticket_no
    assert event.occurred_at == NOW
    assert event.intake_at == T0
    assert event.channel is Channel.HOTLINE
    assert received_event(order) == event
