"""Severity from explainable rules; every rule that fires adds a reason.

urgent    - a safety hazard (gas, fire, collapse, electric shock, food poisoning ...)
major     - >= N households or people affected; money claimed >= the threshold; media or lawsuit;
            a transfer from a regulator or a higher level
important - a repeated complaint
general   - none of the above
"""

from __future__ import annotations

import re

from shared.catalogue import SeverityWords
from shared.contracts import Channel, Severity

__all__ = ["affected_count", "assess_severity", "claimed_amount_cny"]

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10, "几": 3, "百": 100}
# A count of households or people; not a building/room number (3幢501业主) and not 人民币.
_COUNT = re.compile(
    r"(?<![\d幢栋号室元])(?<!号楼)(\d{1,4}|[一二两三四五六七八九十几百]+)\s*(?:多)?\s*"
    r"(?:户|家|位|名|个人|人(?!民币)|住户|业主)")
_MONEY = re.compile(r"(\d+(?:\.\d+)?)\s*(万元|万|元|块)")


def _cn_number(token: str) -> int:
    if token.isdigit():
        return int(token)
    total, current = 0, 0
    for ch in token:
        value = _CN_DIGITS.get(ch, 0)
        if value in (10, 100):
            total += (current or 1) * value
            current = 0
        else:
            current = value
    return total + current


def affected_count(text: str) -> int:
    """The largest number of households or people the text says are affected."""
    return max((_cn_number(m.group(1)) for m in _COUNT.finditer(text)), default=0)


def claimed_amount_cny(text: str) -> float:
    """The largest amount of money mentioned, in yuan."""
    best = 0.0
    for m in _MONEY.finditer(text):
        value = float(m.group(1)) * (10000 if m.group(2).startswith("万") else 1)
        best = max(best, value)
    return best


def assess_severity(text: str, channel: Channel,
                    words: SeverityWords) -> tuple[Severity, list[str]]:
    """The severity class and the reasons that fired (Chinese, shown to staff)."""
    reasons: list[str] = []
    safety = [w for w in words.safety if w in text]
    if safety:
        reasons.append("安全隐患: " + "、".join(safety))
    major: list[str] = []
    count = affected_count(text)
    many = [w for w in words.many_affected if w in text]
    if count >= words.affected_threshold:
        major.append(f"涉及{count}户/人(>={words.affected_threshold})")
    elif many:
        major.append("涉及多户: " + "、".join(many))
    amount = claimed_amount_cny(text)
    if amount >= words.money_threshold_cny:
        major.append(f"涉及金额{amount:.0f}元(>={words.money_threshold_cny})")
    media = [w for w in words.media_or_lawsuit if w in text]
    if media:
        major.append("媒体或诉讼风险: " + "、".join(media))
    if channel is Channel.TRANSFER:
        major.append("上级或监管机构转办")
    reasons.extend(major)
    repeated = [w for w in words.repeated if w in text]
    if repeated:
        reasons.append("重复投诉: " + "、".join(repeated))
    if safety:
        return Severity.URGENT, reasons
    if major:
        return Severity.MAJOR, reasons
    if repeated:
        return Severity.IMPORTANT, reasons
    return Severity.GENERAL, reasons
