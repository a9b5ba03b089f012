"""Validity check (审核): is a new order a real complaint? Pure rules with reasons.

Invalid orders (无效工单) are never dropped: they are stored with status `invalid`, and a
call-back task is raised; an operator may turn one valid after talking to the person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from suqiu.services.intake.domain.text import meaningful_chars
from suqiu.shared.contracts import ValidityReason

__all__ = ["DEFAULT_ABUSIVE", "DEFAULT_OUT_OF_SCOPE", "DEFAULT_TEST_MARKERS", "TriageRules", "triage"]

DEFAULT_TEST_MARKERS: tuple[str, ...] = (
    "测试", "测试工单", "测试一下", "测试测试", "试一下", "试试", "ceshi", "test", "testing",
    "this is a test", "hello", "你好", "喂", "123", "1234", "12345", "abc", "asdf", "qwer",
)
DEFAULT_ABUSIVE: tuple[str, ...] = (
    "傻逼", "煞笔", "操你", "草泥马", "他妈的", "你妈", "去死", "滚蛋", "狗日", "王八蛋", "混蛋",
)
DEFAULT_OUT_OF_SCOPE: tuple[str, ...] = (
    "法院已立案", "已起诉至法院", "正在诉讼", "诉讼中", "仲裁中", "已申请仲裁", "法院已判决",
    "信访事项已终结", "涉军", "点歌", "征婚", "求购股票", "彩票号码", "推荐股票",
)
_TEST_PATTERN = re.compile(r"^(测试|test|ceshi|试)+[0-9a-z]*$")
_SUBSTANTIVE = 15  # meaningful characters that make a rude text still a real complaint


@dataclass(frozen=True)
class TriageRules:
    """The operator's rules; every list and number comes from configuration."""

    min_chars: int = 5
    test_markers: tuple[str, ...] = DEFAULT_TEST_MARKERS
    abusive_words: tuple[str, ...] = DEFAULT_ABUSIVE
    out_of_scope: tuple[str, ...] = DEFAULT_OUT_OF_SCOPE
    markers_folded: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "markers_folded",
                           frozenset(meaningful_chars(m) for m in self.test_markers))


def triage(text: str, rules: TriageRules, *, duplicate_of: str | None = None) -> list[ValidityReason]:
    """Reasons why the order is invalid; empty when it is valid. `text` is the analysis text."""
    core = meaningful_chars(text)
    reasons: list[ValidityReason] = []
    if not core:
        return [ValidityReason(code="empty", detail="no text")]
    if core in rules.markers_folded or _TEST_PATTERN.match(core):
        reasons.append(ValidityReason(code="test", detail="test submission"))
    elif len(core) < rules.min_chars:
        reasons.append(ValidityReason(code="too_short",
                                      detail=f"{len(core)} < {rules.min_chars} characters"))
    lowered = text.lower()
    rude = [w for w in rules.abusive_words if w.lower() in lowered]
    if rude:
        rest = core
        for w in rude:
            rest = rest.replace(meaningful_chars(w), "")
        if len(rest) < _SUBSTANTIVE:
            reasons.append(ValidityReason(code="abusive", detail="abuse without a complaint"))
    scope = [p for p in rules.out_of_scope if p in text]
    if scope:
        reasons.append(ValidityReason(code="out_of_scope", detail=scope[0]))
    if duplicate_of:
        reasons.append(ValidityReason(code="duplicate", detail=duplicate_of))
    return reasons
