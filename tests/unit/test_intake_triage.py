"""Validity triage with reasons, near-duplicate similarity and linking: pure functions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.samples import SAMPLES
from suqiu.services.intake.domain import Candidate, TriageRules, analysis_text, find_link, similarity, triage
from tests.factories import T0

pytestmark = pytest.mark.unit

RULES = TriageRules()


def _codes(text: str, **kw: str) -> list[str]:
    return [r.code for r in triage(analysis_text(text), RULES, **kw)]


@pytest.mark.parametrize(("text", "codes"), [
    ("", ["empty"]),
    ("  。。！！ ", ["empty"]),
    ("路灯", ["too_short"]),
    ("测试", ["test"]),
    ("测试测试123", ["test"]),
    ("TEST", ["test"]),
    ("ｔｅｓｔ", ["test"]),
    ("你好", ["test"]),
    ("傻逼", ["too_short", "abusive"]),
    ("你们这群混蛋去死吧", ["abusive"]),
    ("我要点歌，给我女朋友点一首歌", ["out_of_scope"]),
    ("我的劳动纠纷已申请仲裁，现在想问问仲裁委什么时候开庭", ["out_of_scope"]),
])
def test_invalid_orders_get_reasons(text: str, codes: list[str]) -> None:
    assert _codes(text) == codes


def test_a_rude_but_real_complaint_is_valid() -> None:
    text = "楼下餐馆他妈的每天凌晨两点还在排油烟，熏得整栋楼没法睡觉，请环保部门来查。"
    assert _codes(text) == []


def test_every_demo_sample_is_valid() -> None:
    assert [s.text[:10] for s in SAMPLES if _codes(s.text)] == []


def test_duplicate_of_an_invalid_order_is_a_reason() -> None:
    assert _codes("测试", duplicate_of="SQ-20261123-000001") == ["test", "duplicate"]


def test_rules_come_from_configuration() -> None:
    rules = TriageRules(min_chars=2, test_markers=("试单",), abusive_words=("坏蛋",), out_of_scope=("彩票",))
    assert triage("路灯", rules) == []
    assert [r.code for r in triage("试单", rules)] == ["test"]
    assert [r.code for r in triage("买彩票中奖了没兑付", rules)] == ["out_of_scope"]


def test_similarity_is_jaccard_of_bigrams() -> None:
    a = "小区门口夜间施工噪音很大，影响休息。"
    assert similarity(a, a) == 1.0
    assert similarity(a, "小区门口夜间施工噪音很大，影响休息！！请处理") >= 0.8
    assert similarity(a, "路灯不亮") == 0.0
    assert similarity("", "") == 1.0 and similarity("", a) == 0.0


def _cand(no: str, text: str, hours: float, invalid: bool = False) -> Candidate:
    return Candidate(no, text, T0 - timedelta(hours=hours), invalid)


def test_find_link_takes_the_similar_ticket_within_the_window() -> None:
    text = "小区门口夜间施工噪音很大，影响休息，请处理。"
    cands = [_cand("A", "路灯不亮很久了，请尽快维修。", 1),
             _cand("B", "小区门口夜间施工噪音很大，影响休息。", 2),
             _cand("C", "小区门口夜间施工噪音很大，影响休息，请处理。", 30)]
    link = find_link(text, T0, cands, window=timedelta(hours=24), threshold=0.8)
    assert link is not None and link.ticket_no == "B" and not link.target_invalid
    assert find_link(text, T0, cands, window=timedelta(0), threshold=0.8) is None
    assert find_link(text, T0, cands[:1], window=timedelta(hours=24), threshold=0.8) is None


def test_find_link_prefers_a_valid_ticket_over_an_invalid_one() -> None:
    text = "小区门口夜间施工噪音很大"
    cands = [_cand("X", text, 1, invalid=True), _cand("Y", text + "。", 3)]
    link = find_link(text, T0, cands, window=timedelta(hours=24), threshold=0.8)
    assert link is not None and link.ticket_no == "Y"


def test_settings_give_the_rules_and_keys_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from suqiu.services.intake.settings import IntakeSettings

    monkeypatch.setenv("SUQIU_INTAKE_TEST_MARKERS", "试单, 演练")
    monkeypatch.setenv("SUQIU_INTAKE_MIN_TEXT_CHARS", "3")
    monkeypatch.setenv("SUQIU_INTAKE_OPEN311_API_KEYS", "k1, k2,")
    settings = IntakeSettings()
    rules = settings.triage_rules()
    assert rules.test_markers == ("试单", "演练") and rules.min_chars == 3
    assert rules.abusive_words and rules.out_of_scope  # unset lists keep the defaults
    assert settings.api_keys == {"k1", "k2"} and settings.operator_key_set == frozenset()
    assert settings.duplicate_window_hours == 24  # repeats within a day are linked by default
