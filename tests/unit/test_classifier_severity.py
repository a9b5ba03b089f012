"""Severity rules: every class, its threshold, and the reasons given."""

from __future__ import annotations

import pytest

from suqiu.services.classifier.domain.severity import (
    affected_count,
    assess_severity,
    claimed_amount_cny,
)
from suqiu.shared.contracts import Channel, Severity
from tests.factories import small_catalogue

pytestmark = pytest.mark.unit

WORDS = small_catalogue().severity_words


def _assess(text: str, channel: Channel = Channel.HOTLINE) -> tuple[Severity, list[str]]:
    return assess_severity(text, channel, WORDS)


def test_safety_hazard_is_urgent_with_reason() -> None:
    severity, reasons = _assess("楼道里有燃气泄漏的味道，请尽快处理")
    assert severity is Severity.URGENT
    assert reasons == ["安全隐患: 燃气泄漏"]


def test_safety_wins_over_major_and_keeps_all_reasons() -> None:
    severity, reasons = _assess("整栋楼12户触电风险，已联系媒体，多次反映")
    assert severity is Severity.URGENT
    assert reasons[0] == "安全隐患: 触电"
    assert "涉及12户/人(>=5)" in reasons
    assert "媒体或诉讼风险: 媒体" in reasons
    assert "重复投诉: 多次" in reasons


@pytest.mark.parametrize(("text", "count"), [
    ("楼上七八户都被噪音影响", 8),
    ("共有12户居民受影响", 12),
    ("十二户人家没水", 12),
    ("几十户业主联名", 30),
    ("五名工人被拖欠工资", 5),
])
def test_many_households_is_major(text: str, count: int) -> None:
    severity, reasons = _assess(text)
    assert severity is Severity.MAJOR
    assert f"涉及{count}户/人(>=5)" in reasons


def test_households_below_threshold_is_not_major() -> None:
    severity, reasons = _assess("隔壁4户人家晚上吵闹")
    assert severity is Severity.GENERAL
    assert reasons == []


def test_many_affected_phrase_without_number_is_major() -> None:
    severity, reasons = _assess("全小区停水两天了")
    assert severity is Severity.MAJOR
    assert reasons == ["涉及多户: 全小区", "基本生活需求中断: 停水"]


@pytest.mark.parametrize(("text", "amount"), [
    ("被拖欠3万元工资", 30000),
    ("预付卡里还有25000元没退", 25000),
    ("损失2万", 20000),
])
def test_money_at_or_over_threshold_is_major(text: str, amount: int) -> None:
    severity, reasons = _assess(text)
    assert severity is Severity.MAJOR
    assert f"涉及金额{amount}元(>=20000)" in reasons


def test_money_below_threshold_is_not_major() -> None:
    severity, _ = _assess("退卡还差19999元")
    assert severity is Severity.GENERAL


def test_media_is_major() -> None:
    severity, reasons = _assess("再不处理我就找媒体曝光")
    assert severity is Severity.MAJOR
    assert reasons == ["媒体或诉讼风险: 媒体"]


def test_repeated_complaint_is_important() -> None:
    severity, reasons = _assess("已经多次反映路灯不亮")
    assert severity is Severity.IMPORTANT
    assert reasons == ["重复投诉: 多次"]


def test_transfer_channel_is_major() -> None:
    severity, reasons = _assess("路灯不亮", Channel.TRANSFER)
    assert severity is Severity.MAJOR
    assert reasons == ["上级或监管机构转办"]


def test_plain_complaint_is_general_without_reasons() -> None:
    assert _assess("小区门口路灯不亮") == (Severity.GENERAL, [])


@pytest.mark.parametrize(("text", "count"), [
    ("三户", 3),
    ("十户", 10),
    ("十二户", 12),
    ("二十户", 20),
    ("几十户", 30),
    ("十几户", 13),
    ("七八户", 8),
    ("两百名", 200),
    ("一百二十人", 120),
    ("12户", 12),
    ("30多户", 30),
    ("5 位老人", 5),
    ("3户和20户", 20),
    ("没有数字", 0),
])
def test_affected_count(text: str, count: int) -> None:
    assert affected_count(text) == count


@pytest.mark.parametrize(("text", "amount"), [
    ("3万元", 30000.0),
    ("1.5万", 15000.0),
    ("25000元", 25000.0),
    ("800块", 800.0),
    ("先付了500元，后又付2万元", 20000.0),
    ("没有钱数", 0.0),
])
def test_claimed_amount_cny(text: str, amount: float) -> None:
    assert claimed_amount_cny(text) == amount


def test_amount_in_renminbi_is_not_a_count_of_people() -> None:
    assert affected_count("押金2000人民币一直不退") == 0


@pytest.mark.parametrize(("text", "amount"), [
    ("被骗了两万元", 20000), ("两万五千元的损失", 25000), ("花了一千五百块", 1500),
    ("损失2.5万元", 25000), ("一直没人管", 0),
])
def test_chinese_money_amounts(text: str, amount: float) -> None:
    assert claimed_amount_cny(text) == amount


@pytest.mark.parametrize(("text", "count"), [
    ("一千二百户停水", 1200), ("十几户居民", 13), ("有一两个人", 2), ("第二次反映", 0),
    ("3幢501业主", 0),
])
def test_chinese_counts(text: str, count: int) -> None:
    assert affected_count(text) == count


def test_two_and_a_half_myriad_yuan_is_major() -> None:
    severity, reasons = _assess("装修公司卷走两万五千元")
    assert severity is Severity.MAJOR and "涉及金额25000元(>=20000)" in reasons


def test_people_trapped_in_a_lift_is_urgent() -> None:
    severity, reasons = _assess("3号楼电梯困人已经二十分钟了")
    assert severity is Severity.URGENT and reasons == ["人员被困: 电梯困人"]


def test_injury_is_major() -> None:
    severity, reasons = _assess("小区路面坑洼，我母亲昨晚摔倒受伤了")
    assert severity is Severity.MAJOR and reasons == ["人身伤害: 受伤"]


def test_utilities_cut_off_is_important() -> None:
    severity, reasons = _assess("我家停水两天了也没有通知")
    assert severity is Severity.IMPORTANT and reasons == ["基本生活需求中断: 停水"]


@pytest.mark.parametrize(("details", "severity"), [
    ({"customer_level": "VIP"}, Severity.IMPORTANT), ({"level": "金卡"}, Severity.IMPORTANT),
    ({"customer_level": "普通"}, Severity.GENERAL), ({}, Severity.GENERAL), (None, Severity.GENERAL),
])
def test_vip_customer_level_from_the_channel(details: dict[str, str] | None,
                                             severity: Severity) -> None:
    got, reasons = assess_severity("宽带网速很慢", Channel.HOTLINE, WORDS, details)
    assert got is severity
    assert reasons == ([f"重要客户: 客户等级{next(iter(details.values()))}"] if details and
                       severity is Severity.IMPORTANT else [])
