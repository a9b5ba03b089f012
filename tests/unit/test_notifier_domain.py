"""Who is told what: receipts to complainants, notices to department inboxes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dispatcher.domain import dispatch, dispatched_event
from services.intake.domain import received_event
from services.notifier.domain import plan_notifications
from services.sla_monitor.domain import fired_event, timers_for
from shared.contracts import Complainant, Severity, TicketClassified, TicketStatus
from tests.factories import T0, make_classification, make_order, small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
SIGNATURE = "杭州12345"


def _receipt(complainant: Complainant):
    order = make_order(complainant=complainant)
    notes = plan_notifications(received_event(order), order, CAT, SIGNATURE)
    assert len(notes) == 1
    return order, notes[0]


def test_receipt_sms_contains_ticket_number_and_promise() -> None:
    _, note = _receipt(Complainant(name="张三", phone="13800138000", consent_to_contact=True))
    assert note.channel == "sms"
    assert note.skip_reason is None
    assert note.recipient == "13800138000"
    assert note.recipient_masked == "138****8000"
    assert note.text == ("【杭州12345】您反映的问题已受理，工单号SQ-20261123-000001。"
                         "我们将在5天内办理并答复，可凭工单号查询进度。")
    assert note.key.startswith("SQ-20261123-000001:received|sms|")
    assert "13800138000" not in note.key
    assert note.event_type == "ticket.received"


def test_receipt_sms_carries_no_name_phone_or_address() -> None:
    order, note = _receipt(Complainant(name="欧阳娜娜", phone="13800138000"))
    assert order.location.address is not None
    for secret in ("欧阳", "娜娜", "13800138000", "8000", order.location.address, "西湖区"):
        assert secret not in note.text


@pytest.mark.parametrize(("complainant", "reason"), [
    (Complainant(phone="13800138000", anonymous=True), "anonymous"),
    (Complainant(phone="13800138000", consent_to_contact=False), "no_consent"),
    (Complainant(phone="13800138000", contact_preference="none"), "no_consent"),
    (Complainant(name="张三"), "no_phone"),
])
def test_receipt_is_skipped_with_a_reason(complainant: Complainant, reason: str) -> None:
    _, note = _receipt(complainant)
    assert note.skip_reason == reason


def test_receipt_without_phone_has_placeholder_recipient() -> None:
    _, note = _receipt(Complainant())
    assert (note.recipient, note.recipient_masked) == ("-", "-")


def test_dispatch_notice_goes_to_the_department_inbox() -> None:
    order = make_order(TicketStatus.CLASSIFIED,
                       classification=make_classification(severity=Severity.MAJOR))
    dispatched = dispatch(order, CAT, T0)  # 10:00 Asia/Shanghai
    notes = plan_notifications(dispatched_event(dispatched), dispatched, CAT, SIGNATURE)
    assert len(notes) == 1
    note = notes[0]
    assert (note.channel, note.recipient, note.recipient_masked) == (
        "inbox", "construction", "construction")
    assert note.text == ("新工单SQ-20261123-000001：城乡建设/施工扰民，西湖区，重大。"
                         "请于2026-11-23 11:00前签收，2026-11-25 10:00前办结。")
    assert "张三" not in note.text and "13800138000" not in note.text


def test_sla_warning_and_breach_texts() -> None:
    order = make_order(TicketStatus.CLASSIFIED)
    dispatched = dispatch(order, CAT, T0)
    timers = timers_for(dispatched_event(dispatched), 0.9)
    warning, breach = timers[0], timers[1]  # sign-for step, due 14:00 local

    [w] = plan_notifications(fired_event(warning, warning.fire_at), order, CAT, SIGNATURE)
    assert (w.channel, w.recipient, w.event_type) == ("inbox", "construction", "sla.warning")
    assert w.text == ("【预警】工单SQ-20261123-000001的签收时限将于2026-11-23 14:00到期，"
                      "请及时处理。")

    late = breach.due_at + timedelta(minutes=125, seconds=30)
    [b] = plan_notifications(fired_event(breach, late), order, CAT, SIGNATURE)
    assert (b.channel, b.recipient, b.event_type) == ("inbox", "construction", "sla.breached")
    assert b.text == "【超时】工单SQ-20261123-000001已超过签收时限125分钟，请立即处理。"
    assert w.key != b.key


def test_breach_just_at_due_reports_at_least_one_minute() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    breach = timers_for(dispatched_event(order), 0.9)[3]
    [b] = plan_notifications(fired_event(breach, breach.due_at), order, CAT, SIGNATURE)
    assert "办结时限1分钟" in b.text


def test_classified_event_notifies_nobody() -> None:
    order = make_order(TicketStatus.CLASSIFIED)
    event = TicketClassified(event_id="x", ticket_no=order.ticket_no, occurred_at=T0,
                             intake_at=T0, category="c", department="d",
                             severity=Severity.GENERAL, confidence=0.5)
    assert plan_notifications(event, order, CAT, SIGNATURE) == []


def test_notification_key_carries_no_phone_number() -> None:
    _, note = _receipt(Complainant(phone="13800138000"))
    assert "13800138000" not in note.key
