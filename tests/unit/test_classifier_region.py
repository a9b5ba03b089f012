"""Region extraction from address and text."""

from __future__ import annotations

import pytest

from services.classifier.domain.region import extract_region
from shared.contracts import Region
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
