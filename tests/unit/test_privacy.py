"""Masking and normalisation of personal data."""

from __future__ import annotations

import pytest

from suqiu.shared.privacy import mask_name, mask_phone, normalize_phone, scrub_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),
    ("057187654321", "057*****4321"),
    ("1234567", "*******"),
    ("12345", "*****"),
])
def test_mask_phone_keeps_first_three_and_last_four(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("empty", [None, ""])
def test_mask_phone_passes_empty_through(empty: str | None) -> None:
    assert mask_phone(empty) == empty


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"),
    ("欧阳娜娜", "欧***"),
    ("王", "王*"),
])
def test_mask_name_keeps_family_name_only(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_name_passes_none_through() -> None:
    assert mask_name(None) is None


@pytest.mark.parametrize(("raw", "normalized"), [
    ("13812345678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("0086-138-1234-5678", "13812345678"),
    ("86 13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("0571-87654321", "057187654321"),
    ("(0571) 8765 4321", "057187654321"),
])
def test_normalize_phone(raw: str, normalized: str) -> None:
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize("raw", [None, "", "无", "1234", "1" * 16])
def test_normalize_phone_returns_none_when_nothing_phone_like(raw: str | None) -> None:
    assert normalize_phone(raw) is None


def test_scrub_text_masks_mobile_id_and_email_inside_chinese_text() -> None:
    text = ("我叫张三，电话13812345678，身份证号330102199001011234，"
            "邮箱zhangsan@example.com请回复")
    out = scrub_text(text)
    assert out == ("我叫张三，电话138****5678，身份证号330***********1234，"
                   "邮箱z***@example.com请回复")
    for secret in ("13812345678", "330102199001011234", "zhangsan@"):
        assert secret not in out


def test_scrub_text_masks_mobile_with_country_code_and_spaces() -> None:
    out = scrub_text("联系方式：+86 139 1234 5678。")
    assert "1234" not in out.replace("139****5678", "")
    assert "139****5678" in out


def test_scrub_text_masks_id_with_x_check_digit() -> None:
    out = scrub_text("身份证11010519491231002X已丢失")
    assert out == "身份证110***********002X已丢失"


def test_scrub_text_masks_landline() -> None:
    assert scrub_text("座机0571-87654321转8") == "座机0571-****21转8"


def test_scrub_text_leaves_other_numbers_alone() -> None:
    text = "2026年11月23日，3号楼12户，损失25000元，工单SQ-20261123-000042"
    assert scrub_text(text) == text


def test_scrub_text_does_not_mask_part_of_a_longer_digit_run() -> None:
    text = "订单号12381381234567899912"  # 20 digits: neither a mobile nor an ID number
    assert scrub_text(text) == text


@pytest.mark.parametrize(("raw", "normalized"), [
    ("+86 571 8765 4321", "057187654321"),
    ("+86 10 1234 5678", "01012345678"),
])
def test_normalize_phone_international_landline(raw: str, normalized: str) -> None:
    assert normalize_phone(raw) == normalized
