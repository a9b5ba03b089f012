"""Catalogue validation: bad references stop start-up with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from suqiu.shared.catalogue import CatalogueError, load_catalogue
from tests.factories import small_catalogue

pytestmark = pytest.mark.unit


def _valid_data() -> dict:
    return small_catalogue().model_dump(mode="json")


def test_small_catalogue_is_valid_and_looks_up_departments() -> None:
    cat = small_catalogue()
    assert cat.department("urban_mgmt").name == "市城市管理局"
    with pytest.raises(KeyError):
        cat.department("nope")


def test_unknown_triage_department_is_reported() -> None:
    with pytest.raises(ValidationError, match="triage_department 'desk' is not a department"):
        small_catalogue(triage_department="desk")


def test_unknown_parent_is_reported() -> None:
    data = _valid_data()
    data["departments"][2]["parent"] = "ghost"
    with pytest.raises(ValidationError, match="department urban_mgmt: parent 'ghost' unknown"):
        small_catalogue(departments=data["departments"])


def test_unknown_category_and_subcategory_departments_are_all_reported() -> None:
    data = _valid_data()
    data["categories"][0]["department"] = "ghost_a"
    data["categories"][1]["subcategories"][0]["department"] = "ghost_b"
    with pytest.raises(ValidationError) as info:
        small_catalogue(categories=data["categories"])
    message = str(info.value)
    assert "category urban_construction: department 'ghost_a' unknown" in message
    assert "subcategory noise: department 'ghost_b' unknown" in message


def test_a_second_sla_table_is_refused() -> None:
    with pytest.raises(ValidationError, match="moved to the SLA policy file"):
        small_catalogue(sla={"general": {"sign_for_hours": 4, "resolution_hours": 168}})


@pytest.mark.parametrize("code", ["Urban", "1abc", "with-dash", ""])
def test_malformed_codes_are_rejected(code: str) -> None:
    data = _valid_data()
    data["categories"][0]["code"] = code
    with pytest.raises(ValidationError):
        small_catalogue(categories=data["categories"])


def test_subcategory_needs_keywords() -> None:
    data = _valid_data()
    data["categories"][0]["subcategories"][0]["keywords"] = []
    with pytest.raises(ValidationError):
        small_catalogue(categories=data["categories"])




def test_load_catalogue_reads_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(_valid_data(), allow_unicode=True), encoding="utf-8")
    assert load_catalogue(path) == small_catalogue()


def test_load_catalogue_names_the_bad_entry(tmp_path: Path) -> None:
    data = _valid_data()
    data["triage_department"] = "desk"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"(?s)invalid catalogue .*triage_department 'desk'"):
        load_catalogue(path)


def test_load_catalogue_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read catalogue"):
        load_catalogue(tmp_path / "missing.yaml")
