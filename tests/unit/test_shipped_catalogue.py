"""The operator's shipped catalogue validates and classifies the sample complaints correctly."""

from __future__ import annotations

import pytest

from suqiu.samples import SAMPLES, Sample
from suqiu.services.classifier.domain.categories import match_category
from suqiu.services.classifier.domain.region import extract_region
from suqiu.services.intake.domain import analysis_text
from suqiu.shared.catalogue import Catalogue, load_catalogue

pytestmark = pytest.mark.unit

REQUIRED_FIRST_LEVEL = ("城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障",
                        "商贸旅游", "卫生计生")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_shipped_catalogue_validates(catalogue: Catalogue) -> None:
    assert isinstance(catalogue, Catalogue)
    assert catalogue.department(catalogue.triage_department)


def test_required_first_level_categories_are_present(catalogue: Catalogue) -> None:
    names = {c.name for c in catalogue.categories}
    assert set(REQUIRED_FIRST_LEVEL) <= names, set(REQUIRED_FIRST_LEVEL) - names


def test_category_codes_and_names_are_unique(catalogue: Catalogue) -> None:
    codes = [c.code for c in catalogue.categories]
    names = [c.name for c in catalogue.categories]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))


def test_samples_exist() -> None:
    assert len(SAMPLES) >= 7


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.text[:12])
def test_sample_is_classified_into_its_expected_category(sample: Sample,
                                                         catalogue: Catalogue) -> None:
    by_code = {c.code: c.name for c in catalogue.categories}
    assert sample.expected_category in by_code, f"unknown code {sample.expected_category!r}"
    match = match_category(analysis_text(sample.text), catalogue)
    assert match.category == by_code[sample.expected_category], (
        f"got {match.category}/{match.subcategory} via {match.keywords}")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.text[:12])
def test_sample_region_is_its_expected_district(sample: Sample, catalogue: Catalogue) -> None:
    region = extract_region(sample.address, analysis_text(sample.text), catalogue)
    assert region.district == sample.expected_district, f"matched {region.matched!r}"
