"""Per-channel normalisers on realistic Chinese samples: one work order shape for every channel."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from suqiu.services.intake.contracts import EmailMessage
from suqiu.services.intake.domain import new_work_order, normalise
from suqiu.services.intake.domain.channels.email import html_to_text
from suqiu.services.intake.errors import parse_intake_message
from suqiu.shared.contracts import Channel, TicketStatus
from tests.factories import T0

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy/examples/intake"


def _example(example: str, **overrides: Any) -> Any:
    data = json.loads((EXAMPLES / f"{example}.json").read_text("utf-8"))
    data.update(overrides)
    return parse_intake_message(data)


def _order(example: str, **overrides: Any):
    return new_work_order(normalise(_example(example, **overrides)), "SQ-20261123-000001", b"{}", T0)


@pytest.mark.parametrize(("name", "channel"), [
    ("hotline_call", Channel.HOTLINE), ("web_form", Channel.WEB), ("wechat", Channel.WECHAT),
    ("email", Channel.EMAIL), ("sms", Channel.SMS), ("letter", Channel.LETTER),
    ("walk_in", Channel.WALK_IN), ("transfer", Channel.TRANSFER), ("app", Channel.APP),
])
def test_every_channel_example_becomes_a_received_work_order(name: str, channel: Channel) -> None:
    message = _example(name)
    order = _order(name)
    assert order.channel is channel
    assert order.status is TicketStatus.RECEIVED
    assert order.intake_key == f"{channel.value}:{message.message_id}"
    assert order.content.text and order.analysis_text
    assert order.validity is not None and order.validity.valid


def test_hotline_call_keeps_summary_verbatim_and_call_facts() -> None:
    order = _order("hotline_call")
    msg = _example("hotline_call")
    assert order.content.text == msg.summary
    assert order.content.demand == "请相关部门核实并制止夜间施工。"
    assert order.complainant.phone == "13800001021"
    assert order.complainant.contact_preference == "phone"  # the caller wants a call back
    assert order.complainant.consent_to_contact is True
    d = order.channel_details
    assert (d["line"], d["call_id"], d["agent_id"]) == ("12345", msg.call_id, "A0107")
    assert d["duration_s"] == 217.0 and d["text_source"] == "agent_summary"
    assert d["callback_requested"] is True
    assert [(a.kind, a.uri) for a in order.attachments] == [("recording", msg.recording_uri)]


def test_hotline_call_without_summary_uses_the_asr_transcript() -> None:
    order = _order("hotline_call", summary="")
    assert order.content.text.startswith("喂，你好")
    assert order.channel_details["text_source"] == "asr_transcript"


def test_traditional_characters_are_simplified_for_analysis_only() -> None:
    text = "臺北來的遊客反映：西湖區文新街道的餐廳衛生環境極差，廚房蟑螂亂竄，請儘快檢查。"
    order = _order("web_form", description=text)
    assert order.content.text == text  # verbatim
    assert order.analysis_text == (
        "台北来的游客反映:西湖区文新街道的餐厅卫生环境极差,厨房蟑螂乱窜,请尽快检查。")


def test_email_with_attachment_keeps_a_reference_not_the_bytes() -> None:
    order = _order("email")
    assert order.content.title == "投诉：小区垃圾多天无人清运"
    assert order.content.text.startswith("您好：上城区小营街道")
    assert order.complainant.name == "李先生"
    assert order.complainant.email == "li.xiansheng@example.com"
    assert order.complainant.phone is None and "complainant.phone" in order.unknown_fields
    [att] = order.attachments
    assert (att.kind, att.name) == ("photo", "rubbish.jpg")
    assert att.uri == "mail://inbox/MAIL-INBOX-4411/1/rubbish.jpg"
    [meta] = order.channel_details["attachments"]
    assert meta["content_type"] == "image/jpeg" and meta["size"] > 0 and len(meta["sha256"]) == 64
    assert order.channel_details["message_id_header"] == "<20261123080055.4411@example.com>"


def test_email_in_gbk_with_html_body_is_read_from_its_bytes() -> None:
    raw = ("From: wang@example.cn\r\nSubject: =?gbk?b?" + base64.b64encode("噪音投诉".encode("gbk")).decode()
           + "?=\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=gbk\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + (
        "<html><head><style>p{}</style></head><body><p>楼上装修&nbsp;每天早上七点就开始电钻</p>"
        "<p>请处理</p></body></html>").encode("gbk")
    msg = EmailMessage(message_id="m-gbk", received_at=T0, rfc822_base64=base64.b64encode(raw).decode())
    sub = normalise(msg)
    assert sub.content.title == "噪音投诉"
    assert sub.content.text == "楼上装修\xa0每天早上七点就开始电钻\n请处理"
    assert sub.channel_details["body_kind"] == "html"
    assert sub.attachments == []


def test_html_to_text_drops_scripts_and_decodes_entities() -> None:
    assert html_to_text("<div>A&amp;B<script>x()</script></div><br>C") == "A&B\n\nC"


def test_wechat_openid_is_the_person_and_media_become_references() -> None:
    order = _order("wechat")
    assert order.complainant.external_id == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert order.complainant.contact_preference == "wechat"
    assert order.complainant.phone is None and order.complainant.anonymous
    assert [a.uri for a in order.attachments] == ["wx-media://official_account/MEDIA_ID_1xYz"]


def test_sms_sender_is_normalised() -> None:
    order = _order("sms")
    assert order.complainant.phone == "13700002233"
    assert order.channel_details["gateway_message_id"] == "SMSGW-20261123-77812"


def test_letter_scan_is_evidence_and_ocr_text_the_complaint() -> None:
    order = _order("letter")
    assert order.attachments[0].uri == "scan://letters/2026/11/23/009.pdf"
    assert order.channel_details["ocr_confidence"] == 0.93
    assert order.complainant.phone is None  # not on the letter: unknown, not invented


def test_walk_in_keeps_only_a_masked_id_number() -> None:
    order = _order("walk_in")
    assert order.channel_details["id_number_masked"] == "330***********1234"
    assert "330106198001011234" not in json.dumps(order.model_dump(mode="json"), ensure_ascii=False)
    assert order.channel_details["staff_id"] == "S0032"


def test_transfer_carries_source_case_and_imposed_deadline() -> None:
    sub = normalise(_example("transfer"))
    assert sub.channel_details["source_org"] == "浙江省12345政务服务热线"
    assert sub.channel_details["source_case_no"] == "ZJ20261123001877"
    assert sub.imposed_deadline is not None and sub.imposed_deadline.isoformat().startswith("2026-11-30")


def test_app_anonymous_user_keeps_contact_but_no_name() -> None:
    order = _order("app", name="赵六")
    assert order.complainant.anonymous and order.complainant.name is None
    assert order.complainant.phone == "18800003333"
    assert (order.location.lat, order.location.lon) == (30.4213, 120.3011)


def test_personal_numbers_are_masked_in_the_analysis_text() -> None:
    text = "我叫周先生，电话13800001021，身份证330106198001011234，邮箱zhou@example.com，工地夜间施工。"
    order = _order("hotline_call", summary=text, caller_name="周先生")
    assert order.content.text == text  # the original stays verbatim for the handling unit
    for secret in ("13800001021", "330106198001011234", "zhou@example.com", "周先生"):
        assert secret not in order.analysis_text
    assert "138****1021" in order.analysis_text


def test_unknown_fields_are_listed_not_invented() -> None:
    order = _order("sms")
    assert {"complainant.name", "location.address", "content.title"} <= set(order.unknown_fields)
    assert order.complainant.name is None and order.location.address is None
