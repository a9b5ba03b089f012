"""Category matching by catalogue keywords."""

from __future__ import annotations

import pytest

from suqiu.services.classifier.domain.categories import match_category
from tests.factories import small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()


def test_best_match_returns_names_department_and_keywords() -> None:
    m = match_category("公司拖欠工资三个月", CAT)
    assert (m.category, m.subcategory, m.department) == ("劳动和社会保障", "拖欠工资", "labour")
    assert m.keywords == ("拖欠工资",)
    assert m.confidence == 1.0  # sole candidate, four characters of evidence


def test_subcategory_department_overrides_category_department() -> None:
    m = match_category("楼顶违章搭建", CAT)
    assert (m.category, m.subcategory, m.department) == ("城乡建设", "违法建设", "urban_mgmt")


def test_longer_keyword_wins_over_shorter_competitor() -> None:
    # 噪音 (2 chars, 环境保护/噪声扰民) against 夜间施工 + 施工 (6 chars, 城乡建设/施工扰民)
    m = match_category("工地夜间施工噪音太大", CAT)
    assert (m.category, m.subcategory) == ("城乡建设", "施工扰民")
    assert set(m.keywords) == {"施工", "夜间施工"}
    assert m.confidence == pytest.approx(0.75)  # 6 / (6 + 2), full evidence


def test_longer_phrase_beats_short_keyword_of_other_category() -> None:
    m = match_category("施工单位往河道污染", CAT)  # 施工 (2) vs 河道污染 (4)
    assert (m.category, m.subcategory, m.department) == ("环境保护", "水污染", "environment")


def test_no_match_goes_to_triage_with_zero_confidence() -> None:
    m = match_category("我想咨询一下公积金提取", CAT)
    assert m.category == "其他"
    assert m.subcategory is None
    assert m.department == "triage"
    assert m.confidence == 0.0
    assert m.keywords == ()


def test_single_short_keyword_is_weak_evidence() -> None:
    m = match_category("有人排污", CAT)
    assert m.subcategory == "水污染"
    assert m.confidence == pytest.approx(0.75)  # 0.5 + 0.5 * (2 / 4)


@pytest.mark.parametrize("text", [
    "施工",
    "噪音",
    "广场舞噪音夜间施工违建欠薪排污",
    "渣土车夜间施工违章搭建",
    "拖欠工资欠薪",
    "",
])
def test_confidence_is_within_unit_interval(text: str) -> None:
    assert 0.0 <= match_category(text, CAT).confidence <= 1.0
