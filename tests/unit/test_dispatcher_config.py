"""Dispatcher configuration: credentials (bearer tokens) and the routing file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suqiu.services.dispatcher.auth import AuthError, load_credentials
from suqiu.services.dispatcher.routing import RoutingError, load_routing
from suqiu.shared.settings import REPO_ROOT
from tests.factories import small_catalogue

pytestmark = pytest.mark.unit

CAT = small_catalogue()
DEPTS = {d.id for d in CAT.departments}
GOOD = {"a-long-enough-token-1": {"department": "construction"},
        "a-long-enough-token-2": {"department": "triage", "role": "supervisor", "unmask": True}}


def test_bearer_token_maps_to_department_and_role() -> None:
    creds = load_credentials(json.dumps(GOOD), None, DEPTS)
    p = creds.authenticate("Bearer a-long-enough-token-2")
    assert p is not None and (p.department, p.role, p.unmask) == ("triage", "supervisor", True)
    assert creds.authenticate("bearer a-long-enough-token-1").department == "construction"  # type: ignore[union-attr]
    for header in (None, "", "Bearer", "Bearer a-long-enough-token-3", "a-long-enough-token-1"):
        assert creds.authenticate(header) is None


def test_credentials_from_a_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    assert load_credentials(None, path, DEPTS).authenticate("Bearer a-long-enough-token-1")


def test_no_credentials_means_nobody_gets_in() -> None:
    assert load_credentials(None, None, DEPTS).authenticate("Bearer anything-at-all-x") is None


@pytest.mark.parametrize(("raw", "match"), [
    ("not json", "invalid credentials"),
    ("[]", "JSON object"),
    (json.dumps({"short": {"department": "construction"}}), "shorter than 16"),
    (json.dumps({"a-long-enough-token-9": {"department": "nowhere"}}), "unknown departments"),
    (json.dumps({"a-long-enough-token-9": {"department": "triage", "role": "god"}}),
     "invalid credentials"),
])
def test_bad_credentials_stop_start_up_without_echoing_tokens(raw: str, match: str) -> None:
    with pytest.raises(AuthError, match=match) as exc:
        load_credentials(raw, None, DEPTS)
    assert "a-long-enough-token-9" not in str(exc.value)


def test_shipped_routing_file_is_valid_for_the_shipped_catalogue() -> None:
    from suqiu.shared.catalogue import load_catalogue

    rules = load_routing(REPO_ROOT / "deploy/config/routing.yaml", load_catalogue())
    assert rules.rules and rules.default == "classifier"


def test_routing_file_naming_an_unknown_department_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("rules:\n  - {name: x, lead: nowhere}\n", encoding="utf-8")
    with pytest.raises(RoutingError, match="unknown department 'nowhere'"):
        load_routing(path, CAT)
    path.write_text("rules:\n  - {name: x, lead: construction, typo: 1}\n", encoding="utf-8")
    with pytest.raises(RoutingError, match="invalid routing rules"):
        load_routing(path, CAT)


def test_rules_for_another_profile_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("profile: telecom\nrules:\n  - {name: x, lead: nowhere}\n", encoding="utf-8")
    assert load_routing(path, CAT).rules == []
