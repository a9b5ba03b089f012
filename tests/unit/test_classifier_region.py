"""Region extraction from address and text."""

from __future__ import annotations

import pytest

from suqiu.services.classifier.domain.region import extract_region
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.contracts import Region
from tests.factories import small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()


def test_street_beats_district_and_gives_both() -> None:
    r = extract_region("滨江区某路 文新街道 88号", "", CAT)
    assert r == Region(province="浙江省", city="杭州市", district="西湖区", street="文新街道",
                       matched="文新街道")


def test_district_name_without_street() -> None:
    r = extract_region("西湖区某小区3幢", "", CAT)
    assert (r.district, r.street, r.matched) == ("西湖区", None, "西湖区")


def test_alias_maps_to_the_canonical_district_name() -> None:
    r = extract_region(None, "我住在滨江，楼下很吵", CAT)
    assert (r.district, r.matched) == ("滨江区", "滨江")


def test_address_is_used_before_text() -> None:
    r = extract_region("滨江区江南大道", "我在西湖区文新街道上班", CAT)
    assert (r.district, r.street) == ("滨江区", None)


def test_text_is_used_when_address_has_nothing() -> None:
    r = extract_region("某某路12号", "长河街道的路灯不亮", CAT)
    assert (r.district, r.street) == ("滨江区", "长河街道")


def test_nothing_found_gives_city_only() -> None:
    r = extract_region(None, "路灯不亮", CAT)
    assert r == Region(province="浙江省", city="杭州市")


# --- other cities through the national gazetteer, and the shipped catalogue -----------------

SHIPPED = load_catalogue()


@pytest.mark.parametrize(("address", "expected"), [
    ("广州市天河区天河路385号", ("广东省", "广州市", "天河区", None)),
    ("上海市浦东新区张江镇祖冲之路", ("上海市", "上海市", "浦东新区", "张江镇")),
    ("北京市朝阳区望京街道阜通东大街", ("北京市", "北京市", "朝阳区", "望京街道")),
    ("四川省成都市武侯区浆洗街街道", ("四川省", "成都市", "武侯区", "浆洗街街道")),
    ("深圳南山区粤海街道科技园", ("广东省", "深圳市", "南山区", "粤海街道")),
    ("杭州市西湖区留下街道", ("浙江省", "杭州市", "西湖区", "留下街道")),
    ("拱墅區拱宸橋街道", ("浙江省", "杭州市", "拱墅区", "拱宸桥街道")),
])
def test_addresses_of_several_cities(address: str, expected: tuple) -> None:
    r = extract_region(address, "", SHIPPED)
    assert (r.province, r.city, r.district, r.street) == expected
    assert r.matched and r.matched in address.replace("區", "区").replace("橋", "桥")


def test_another_city_named_in_the_text_only() -> None:
    r = extract_region(None, "我上周在南京市鼓楼区的一家店买的手机", SHIPPED)
    assert (r.province, r.city, r.district) == ("江苏省", "南京市", "鼓楼区")
    assert r.matched == "南京市鼓楼区"


def test_a_bare_ambiguous_district_name_is_not_guessed_nor_made_the_home_city() -> None:
    r = extract_region(None, "朝阳区那边有人乱停车", SHIPPED)  # 北京 or 长春? unknown
    assert r == Region()


def test_a_bare_unique_district_name_of_another_city_is_that_city() -> None:
    r = extract_region(None, "天河区体育西路有人占道经营", SHIPPED)
    assert (r.province, r.city, r.district, r.matched) == ("广东省", "广州市", "天河区", "天河区")


def test_the_home_city_is_used_only_when_no_place_is_named() -> None:
    r = extract_region(None, "小区门口的垃圾三天没人清理了", SHIPPED)
    assert (r.province, r.city, r.district) == ("浙江省", "杭州市", None)


@pytest.mark.parametrize(("text", "where"), [
    ("杭州市临平区南苑街道路灯不亮", ("浙江省", "杭州市", "临平区")),
    ("深圳市光明区公明街道有工地夜间施工", ("广东省", "深圳市", "光明区")),
    ("济南市莱芜区某小区停水三天", ("山东省", "济南市", "莱芜区")),
])
def test_current_districts_are_known_nationally(text: str, where: tuple[str, ...]) -> None:
    r = extract_region(None, text, CAT)  # CAT does not configure these districts
    assert (r.province, r.city, r.district) == where


def test_an_abolished_district_is_not_resolved_as_current() -> None:
    r = extract_region(None, "上海市江干区凯旋路井盖坏了", CAT)  # 江干区 was abolished in 2021
    assert r.district is None
    r = extract_region(None, "杭州市江干区凯旋路井盖坏了", CAT)
    assert (r.city, r.district) == ("杭州市", None)


def test_a_configured_community_gives_street_and_district() -> None:
    r = extract_region("南都德加社区12幢", "", SHIPPED)
    assert (r.district, r.street, r.community) == ("西湖区", "文新街道", "南都德加社区")


def test_the_local_gazetteer_wins_over_a_same_named_district_elsewhere() -> None:
    r = extract_region("西湖区文三路", "", SHIPPED)  # also a 西湖区 in 南昌市
    assert (r.city, r.district) == ("杭州市", "西湖区")
