"""SLA policy file: validation, rule matching and deadline arithmetic with pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from suqiu.shared.calendar import BusinessCalendar
from suqiu.shared.errors import ConfigError
from suqiu.shared.sla import SlaPolicies, StepLimit, due_after, load_policies

pytestmark = pytest.mark.unit

CAL = BusinessCalendar()
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 Asia/Shanghai


@pytest.mark.parametrize(("pauses", "due"), [
    ([], T0 + timedelta(hours=10)),
    ([(T0 + timedelta(hours=2), T0 + timedelta(hours=5))], T0 + timedelta(hours=13)),
    ([(T0 - timedelta(hours=5), T0 - timedelta(hours=1))], T0 + timedelta(hours=10)),
    ([(T0 - timedelta(hours=1), T0 + timedelta(hours=1))], T0 + timedelta(hours=11)),
    ([(T0 + timedelta(hours=11), T0 + timedelta(hours=12))], T0 + timedelta(hours=10)),
    ([(T0 + timedelta(hours=1), T0 + timedelta(hours=2)),
      (T0 + timedelta(hours=3), T0 + timedelta(hours=4))], T0 + timedelta(hours=12)),
    ([(T0 + timedelta(hours=2), None)], None),
])
def test_calendar_clock_with_pauses(pauses: list, due: datetime | None) -> None:  # type: ignore[type-arg]
    assert due_after(T0, StepLimit(hours=10), CAL, pauses) == due


def test_working_clock_pause_over_a_weekend_costs_only_working_hours() -> None:
    limit = StepLimit(hours=7, basis="working")
    # paused Friday 27 Nov 16:30 local till Monday 30 Nov 10:00 local: 1 + 1 working h paused;
    # unpaused 7 h from Friday 14:00 is Monday 14:00 local, paused Monday 16:00 local
    pause = (datetime(2026, 11, 27, 8, 30, tzinfo=UTC), datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    base = due_after(T0, limit, CAL)
    assert base == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 local
    start = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # Friday 14:00 local
    assert due_after(start, limit, CAL) == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert due_after(start, limit, CAL, [pause]) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_shipped_file_loads_and_every_profile_ends_with_a_catch_all() -> None:
    pol = load_policies()
    assert set(pol.profiles) == {"government_hotline", "property_management", "telecom"}
    assert pol.warn_ratio == 0.9
    assert pol.rule_for("government_hotline", severity="general", channel="web").name == "general"


def test_invalid_policies_are_refused() -> None:
    steps = {"sign_for": {"hours": 1}}
    with pytest.raises(ValidationError):
        SlaPolicies.model_validate({"profiles": {"p": [
            {"name": "x", "match": {"severity": ["urgent"]}, "steps": steps}]}})
    with pytest.raises(ValidationError):
        SlaPolicies.model_validate({"profiles": {"p": [
            {"name": "x", "steps": {"lunch": {"hours": 1}}}]}})
    with pytest.raises(ValidationError):
        SlaPolicies.model_validate({"profiles": {"p": [
            {"name": "x", "steps": {"sign_for": {"hours": 1, "basis": "lunar"}}}]}})


def test_category_prefix_and_channel_matching() -> None:
    pol = SlaPolicies.model_validate({"step_defaults": {"sign_for": {"hours": 1}}, "profiles": {"p": [
        {"name": "housing-web", "match": {"category": ["11"], "channel": ["web"]},
         "steps": {"resolution": {"hours": 5}}},
        {"name": "rest", "steps": {"resolution": {"hours": 9}}}]}})
    assert pol.rule_for("p", severity="general", channel="web", category="1103").name == "housing-web"
    assert pol.rule_for("p", severity="general", channel="hotline", category="1103").name == "rest"
    assert pol.rule_for("p", severity="general", channel="web", category=None).name == "rest"
    # category and subcategory codes together: either may match
    assert pol.rule_for("p", severity="general", channel="web",
                        category=("99", "1107")).name == "housing-web"


def test_a_rule_without_sign_for_or_resolution_is_refused() -> None:
    with pytest.raises(ValidationError, match="no limit for"):
        SlaPolicies.model_validate({"profiles": {"p": [
            {"name": "x", "steps": {"resolution": {"hours": 1}}}]}})


def test_a_bad_policy_file_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "sla.yaml"
    f.write_text("profiles: {p: []}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid SLA policy"):
        load_policies(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_policies(tmp_path / "missing.yaml")


def test_the_policy_version_follows_the_files_content(tmp_path) -> None:  # type: ignore[no-untyped-def]
    shipped = load_policies()
    assert shipped.version.startswith("sla-")
    f = tmp_path / "sla.yaml"
    text = open("deploy/config/sla.yaml", encoding="utf-8").read()
    f.write_text(text.replace("warn_ratio: 0.9 ", "warn_ratio: 0.8 "), encoding="utf-8")
    assert load_policies(f).version != shipped.version
