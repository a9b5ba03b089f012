"""Who is told what: receipts and results to complainants, notices to departments."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from suqiu.services.dispatcher.domain import dispatch, dispatched_event
from suqiu.services.intake.domain import received_event
from suqiu.services.notifier.config import NotifierConfig
from suqiu.services.notifier.domain import Notification, Planner, QuietHours, complainant_contact
from suqiu.services.notifier.templates import TemplateBook
from suqiu.services.sla_monitor.domain import Moment, StepTimer, desired, event_for
from suqiu.shared.contracts import (
    Complainant,
    Dispatch,
    Severity,
    SlaEscalated,
    TicketClassified,
    TicketExtensionApproved,
    TicketInvalid,
    TicketLinked,
    TicketReplied,
    TicketRevisitRequested,
    TicketStatus,
    TicketUrged,
    WorkOrder,
)
from suqiu.shared.sla import default_book
from tests.factories import T0, make_classification, make_order, small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
SIGNATURE = "杭州12345"
CONFIG = NotifierConfig.model_validate({
    "wechat_templates": {"sla.breached": "TPL1"},
    "departments": {
        "construction": {"email": ["jianshe@example.gov.cn"],
                         "webhook": {"url": "http://127.0.0.1:1/hook", "secret_env": "S_C"},
                         "supervisor_wechat_openid": "oSUPERVISOR1234"},
        "urban_mgmt": {"email": ["cgj@example.gov.cn"], "digest_minutes": 30},
    },
})
PLANNER = Planner(CAT, CONFIG, TemplateBook(), SIGNATURE)
BARE = Planner(CAT, NotifierConfig(), TemplateBook(), SIGNATURE)


def _receipt(complainant: Complainant) -> Notification:
    order = make_order(complainant=complainant)
    notes = PLANNER.plan(received_event(order), order)
    assert len(notes) == 1
    return notes[0]


def test_receipt_sms_contains_ticket_number_and_promise() -> None:
    note = _receipt(Complainant(name="张三", phone="13800138000", consent_to_contact=True))
    assert (note.channel, note.audience, note.skip_reason) == ("sms", "complainant", None)
    assert note.recipient == "13800138000"
    assert note.recipient_masked == "138****8000"
    assert note.text == ("【杭州12345】您反映的问题已受理，工单号SQ-20261123-000001。"
                         "我们将在规定时限内办理并答复，可凭工单号查询进度。")
    assert note.key.startswith("SQ-20261123-000001:received|sms|")
    assert "13800138000" not in note.key
    assert note.event_type == "ticket.received"


@pytest.mark.skipif("promised_by" not in WorkOrder.model_fields,
                    reason="work orders carry no promised time yet")
def test_receipt_quotes_the_promised_time_when_intake_stamped_one() -> None:
    order = make_order(promised_by=T0 + timedelta(hours=24))
    [note] = PLANNER.plan(received_event(order), order)
    assert note.text == ("【杭州12345】您反映的问题已受理，工单号SQ-20261123-000001。"
                         "我们将于2026-11-24 10:00前答复，可凭工单号查询进度。")


def test_receipt_carries_no_name_phone_or_address() -> None:
    order = make_order(complainant=Complainant(name="欧阳娜娜", phone="13800138000"))
    [note] = PLANNER.plan(received_event(order), order)
    assert order.location.address is not None
    for secret in ("欧阳", "娜娜", "13800138000", "8000", order.location.address, "西湖区"):
        assert secret not in note.text and secret not in note.title


@pytest.mark.parametrize(("complainant", "reason"), [
    (Complainant(phone="13800138000", anonymous=True), "anonymous"),
    (Complainant(phone="13800138000", consent_to_contact=False), "no_consent"),
    (Complainant(phone="13800138000", contact_preference="none"), "no_consent"),
    (Complainant(name="张三"), "no_contact"),
])
def test_receipt_is_skipped_with_a_reason(complainant: Complainant, reason: str) -> None:
    note = _receipt(complainant)
    assert note.skip_reason == reason
    assert (note.recipient, note.recipient_masked) == ("-", "-")


@pytest.mark.parametrize(("complainant", "expected"), [
    (Complainant(phone="13800138000", email="a@b.cn", contact_preference="email"),
     ("email", "a@b.cn")),
    (Complainant(phone="13800138000", external_id="oOPENID", contact_preference="wechat"),
     ("wechat", "oOPENID")),
    (Complainant(phone="13800138000", contact_preference="wechat"), ("sms", "13800138000")),
    (Complainant(phone="13800138000", contact_preference="phone"), ("sms", "13800138000")),
    (Complainant(email="a@b.cn"), ("email", "a@b.cn")),
])
def test_complainant_channel_follows_preference_with_fallback(
        complainant: Complainant, expected: tuple[str, str]) -> None:
    assert complainant_contact(complainant) == expected


@pytest.mark.parametrize(("available", "expected"), [
    (frozenset({"sms"}), ("sms", "13800138000")),
    (frozenset({"email"}), ("email", "a@b.cn")),
    (frozenset({"inbox"}), "no_contact"),
])
def test_unavailable_preferred_channel_falls_back(available: frozenset[str], expected) -> None:  # type: ignore[no-untyped-def]
    c = Complainant(phone="13800138000", email="a@b.cn", contact_preference="email")
    assert complainant_contact(c, available) == expected


def test_email_receipt_has_subject_and_masked_recipient() -> None:
    note = _receipt(Complainant(email="zhang.san@example.com", contact_preference="email"))
    assert note.channel == "email"
    assert note.recipient_masked == "z***@example.com"
    assert note.title == "您的诉求已受理（工单号SQ-20261123-000001）"
    assert "如有疑问，请致电12345" in note.text


def test_dispatch_notice_reaches_lead_and_co_departments_on_every_configured_channel() -> None:
    order = make_order(TicketStatus.CLASSIFIED,
                       classification=make_classification(severity=Severity.MAJOR))
    dispatched = dispatch(order, CAT, T0)  # 10:00 Asia/Shanghai
    assert dispatched.dispatch is not None
    dispatched = dispatched.model_copy(update={"dispatch": dispatched.dispatch.model_copy(
        update={"co_departments": ["urban_mgmt"]})})
    notes = PLANNER.plan(dispatched_event(dispatched), dispatched)
    got = {(n.channel, n.recipient_masked, n.department) for n in notes}
    assert got == {
        ("inbox", "construction", "construction"),
        ("email", "j***@example.gov.cn", "construction"),
        ("webhook", "construction", "construction"),
        ("inbox", "urban_mgmt", "urban_mgmt"),
        ("email", "c***@example.gov.cn", "urban_mgmt"),
    }
    lead = next(n for n in notes if n.channel == "inbox" and n.recipient == "construction")
    assert lead.text == ("新工单SQ-20261123-000001：城乡建设/施工扰民，西湖区，重大。"
                         "请于2026-11-23 11:00前签收，2026-11-25 10:00前办结。")
    co = next(n for n in notes if n.channel == "inbox" and n.recipient == "urban_mgmt")
    assert co.text.startswith("【协办】新工单")
    digest = next(n for n in notes if n.channel == "email" and n.department == "urban_mgmt")
    assert digest.digest_minutes == 30
    assert all("张三" not in n.text and "13800138000" not in n.text for n in notes)


def test_unconfigured_department_gets_the_inbox_only() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    notes = BARE.plan(dispatched_event(order), order)
    assert [(n.channel, n.recipient) for n in notes] == [("inbox", "construction")]


def test_department_contacts_on_channels_not_run_are_not_planned() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    inbox_only = Planner(CAT, CONFIG, TemplateBook(), SIGNATURE,
                         available=frozenset({"inbox", "webhook"}))
    notes = inbox_only.plan(dispatched_event(order), order)
    assert {n.channel for n in notes} == {"inbox", "webhook"}


def _timer(order, step: str) -> StepTimer:  # type: ignore[no-untyped-def]
    """The SLA monitor's timer of a step, from the order's stored deadline."""
    return desired(order, default_book(CAT).policies, {}, CAT.triage_department)[step]


def test_sla_warning_and_breach_texts_and_supervisor_wechat() -> None:
    order = make_order(TicketStatus.CLASSIFIED)
    dispatched = dispatch(order, CAT, T0)
    t = _timer(dispatched, "sign_for")  # stored: 4 working hours after 10:00, 15:30 local
    assert t.due_at == dispatched.sla.sign_for_due and t.warn_at is not None

    [w] = BARE.plan(event_for(t, Moment("warning", t.warn_at), t.warn_at), order)
    assert (w.channel, w.recipient, w.event_type) == ("inbox", "construction", "sla.warning")
    assert w.text == ("【预警】工单SQ-20261123-000001的签收时限将于2026-11-23 15:30到期，"
                      "请及时处理。")

    late = t.due_at + timedelta(minutes=125, seconds=30)
    notes = PLANNER.plan(event_for(t, Moment("breach", t.due_at), late), order)
    b = next(n for n in notes if n.channel == "inbox")
    assert b.text == "【超时】工单SQ-20261123-000001已超过签收时限125分钟，请立即处理。"
    wx = next(n for n in notes if n.channel == "wechat")
    assert (wx.audience, wx.recipient, wx.extra["template_id"]) == (
        "supervisor", "oSUPERVISOR1234", "TPL1")
    assert wx.recipient_masked == "oSUP***"
    assert wx.title.startswith("【督办提醒】")
    assert w.key != b.key


def test_breach_just_at_due_reports_at_least_one_minute() -> None:
    order = default_book(CAT).stamp(make_order(TicketStatus.DISPATCHED))
    t = _timer(order, "resolution")
    [b] = BARE.plan(event_for(t, Moment("breach", t.due_at), t.due_at), order)
    assert "办结时限1分钟" in b.text


def _later(order, cls, **fields):  # type: ignore[no-untyped-def]
    return cls(event_id=f"{order.ticket_no}:{cls.__name__}", ticket_no=order.ticket_no,
               occurred_at=T0 + timedelta(days=1), intake_at=T0, **fields)


def test_escalation_reaches_department_target_and_target_supervisor() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    event = _later(order, SlaEscalated, step="resolution", department="urban_mgmt",
                   escalated_to="construction", level=1, due_at=T0)
    notes = PLANNER.plan(event, order)
    inbox = [n for n in notes if n.channel == "inbox"]
    assert {n.recipient for n in inbox} == {"urban_mgmt", "construction"}
    assert all("（市城市管理局）" in n.text and "已升级至市住房和城乡建设局督办（第1级）" in n.text
               for n in inbox)
    assert any(n.channel == "wechat" and n.recipient == "oSUPERVISOR1234" for n in notes)


def test_urging_notice_to_the_department() -> None:
    order = make_order(TicketStatus.DISPATCHED)
    notes = BARE.plan(_later(order, TicketUrged, department="construction",
                             urged_by="市政府督查室", note="请三日内反馈"), order)
    assert [n.text for n in notes] == [
        "【督办】市政府督查室督办工单SQ-20261123-000001，请尽快办理并反馈。督办意见：请三日内反馈"]


@pytest.mark.parametrize(("event_cls", "fields", "sms"), [
    (TicketReplied, {"department": "construction", "summary": "已责令施工单位停止夜间施工"},
     "【杭州12345】您反映的问题（工单号SQ-20261123-000001）已由市住房和城乡建设局办理答复，"
     "可凭工单号查询办理结果。"),
    (TicketRevisitRequested, {"answer_by": T0 + timedelta(days=7)},
     "【杭州12345】您反映的问题（工单号SQ-20261123-000001）已办结，请于2026-11-30 10:00前"
     "评价办理结果。"),
    (TicketExtensionApproved, {"department": "construction", "reason": "需现场勘验",
                               "new_resolution_due": T0 + timedelta(days=10)},
     "【杭州12345】您反映的问题（工单号SQ-20261123-000001）办理时限已延长至2026-12-03 10:00，"
     "我们将尽快办理并答复。"),
])
def test_complainant_follow_ups(event_cls, fields, sms) -> None:  # type: ignore[no-untyped-def]
    order = make_order(TicketStatus.DISPATCHED)
    [n] = PLANNER.plan(_later(order, event_cls, **fields), order)
    assert (n.channel, n.audience, n.text) == ("sms", "complainant", sms)
    assert len(n.text) <= 134  # two SMS segments at most


def test_replied_email_carries_the_summary() -> None:
    order = make_order(TicketStatus.DISPATCHED, complainant=Complainant(
        email="a@b.cn", contact_preference="email"))
    [n] = PLANNER.plan(_later(order, TicketReplied, department="construction",
                              summary="已处理"), order)
    assert n.channel == "email" and "办理结果：已处理" in n.text


def test_classified_event_notifies_nobody() -> None:
    order = make_order(TicketStatus.CLASSIFIED)
    event = TicketClassified(event_id="x", ticket_no=order.ticket_no, occurred_at=T0,
                             intake_at=T0, category="c", department="d",
                             severity=Severity.GENERAL, confidence=0.5)
    assert PLANNER.plan(event, order) == []


QUIET = QuietHours(time(22, 0), time(8, 0))
NIGHT = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 23:30 Asia/Shanghai


def test_quiet_hours_hold_complainant_sms_until_morning() -> None:
    note = _receipt(Complainant(phone="13800138000"))
    assert QUIET.hold_until(note, NIGHT) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert QUIET.hold_until(note, NIGHT - timedelta(hours=8)) is None


def test_quiet_hours_spare_urgent_cases_departments_and_email() -> None:
    order = make_order(TicketStatus.CLASSIFIED,
                       classification=make_classification(severity=Severity.URGENT))
    [urgent] = PLANNER.plan(received_event(order), order)
    assert urgent.urgent and QUIET.hold_until(urgent, NIGHT) is None
    email = _receipt(Complainant(email="a@b.cn"))
    assert QUIET.hold_until(email, NIGHT) is None
    dispatched = make_order(TicketStatus.DISPATCHED, dispatch=Dispatch(
        department="construction", department_name="x", dispatched_at=T0))
    for n in PLANNER.plan(dispatched_event(dispatched), dispatched):
        assert QUIET.hold_until(n, NIGHT) is None


def test_linked_repeat_submission_tells_the_complainant_which_ticket() -> None:
    order = make_order(complainant=Complainant(phone="13800138000", consent_to_contact=True))
    [n] = PLANNER.plan(_later(order, TicketLinked, channel="web",
                              submission_key="web:WEB-2", similarity=0.93), order)
    assert (n.channel, n.audience) == ("sms", "complainant")
    assert n.text == ("【杭州12345】您再次反映的问题已并入工单SQ-20261123-000001一并办理，"
                      "无需重复提交，可凭工单号查询进度。")


def test_invalid_order_is_a_call_back_task_for_the_triage_desk() -> None:
    order = make_order()
    notes = BARE.plan(_later(order, TicketInvalid, channel="hotline",
                             reasons=["too_short", "test"], callback_due=T0 + timedelta(hours=24)),
                      order)
    assert [(n.channel, n.recipient, n.audience) for n in notes] == [
        ("inbox", "triage", "department")]
    assert notes[0].text == ("工单SQ-20261123-000001经审核暂判为无效工单，原因：内容过短、测试工单。"
                             "请于2026-11-24 10:00前回访诉求人核实；如诉求人坚持反映，"
                             "可转为有效工单继续办理。")
