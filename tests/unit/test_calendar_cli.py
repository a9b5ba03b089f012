"""`suqiu calendar check`: covered years and a month's working days; a gap is exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from suqiu.cli import app

pytestmark = pytest.mark.unit


def test_check_prints_covered_years_and_the_working_days_of_a_month() -> None:
    out = CliRunner().invoke(app, ["calendar", "check", "--month", "2026-10"])
    assert out.exit_code == 0, out.output
    assert "package (chinese-calendar) years: 2004-2026" in out.output
    assert "operator overrides cover:         2027" in out.output
    assert "2026-10: 18 working days" in out.output           # 国庆 + 中秋 2026
    assert "2026-10-10 周六 work  调休" in out.output
    assert "2026-10-01 周四 off   holiday" in out.output


def test_a_month_of_an_uncovered_year_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "overrides.yaml"
    empty.write_text("holidays: []\n", encoding="utf-8")
    monkeypatch.setenv("SUQIU_SLA_CALENDAR_OVERRIDES_PATH", str(empty))
    out = CliRunner().invoke(app, ["calendar", "check", "--month", "2027-01"])
    assert out.exit_code == 2
    assert "no holiday data for 2027" in out.output
    bad = CliRunner().invoke(app, ["calendar", "check", "--month", "27-1x"])
    assert bad.exit_code == 2 and "expected YYYY-MM" in bad.output
